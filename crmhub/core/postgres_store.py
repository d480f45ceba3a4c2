"""The PostgreSQL state store, for several crmhub instances sharing one state (``postgresql://…``).

The tables are those of the SQLite store. JSON is kept as text, not ``jsonb``: ``jsonb`` refuses
the ``\\u0000`` escape, which a host may well send inside a chat message, and nothing here queries
inside the JSON.

How instances stay out of each other's way:

- each :meth:`PostgresStore.transaction` is one ``BEGIN``/``COMMIT`` on the calling thread's own
  connection (``READ COMMITTED``), with ``synchronous_commit`` forced on: a committed step
  survives a crash of the server, as an accepted event must;
- getting or putting a session locks it until the transaction ends — a transaction-level
  advisory lock on its id (a row lock cannot cover a session that does not exist yet), and
  ``SELECT … FOR UPDATE`` on its row, which also holds off writers that do not come through here;
- :meth:`_PostgresTransaction.claim_pending` hands out queued work with ``FOR UPDATE SKIP LOCKED``;
- :meth:`PostgresStore.advisory_lock` holds a session-level ``pg_advisory_lock`` on a second
  connection of the thread, so that it spans transactions and CRM calls.

Advisory locks use the two-key form: the first key is the hash of the lock's purpose and of the
schema (``current_schema()``), so that deployments sharing a database in different schemas do not
meet; the second is the hash of the session id or caller's key.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from crmhub.core.rules import SessionState
from crmhub.core.store import Store, StoreTransaction, WorkItem, state_from_json, state_to_json

CONNECT_TIMEOUT_SECONDS = 10  # unless the URL says otherwise (``connect_timeout``)

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS sessions (
        session_id TEXT PRIMARY KEY,
        state TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS handled_events (
        event_id TEXT PRIMARY KEY,
        session_id TEXT NOT NULL,
        outcome TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS record_index (
        end_user_key TEXT NOT NULL,
        leaf_queue_id TEXT NOT NULL,
        record_id TEXT NOT NULL,
        at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (end_user_key, leaf_queue_id)
    )""",
    """CREATE TABLE IF NOT EXISTS work (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        session_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        event TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        not_before TIMESTAMPTZ
    )""",
    "ALTER TABLE work ADD COLUMN IF NOT EXISTS not_before TIMESTAMPTZ",
    "CREATE INDEX IF NOT EXISTS work_by_session ON work (session_id, status, seq)",
    "CREATE INDEX IF NOT EXISTS work_by_status ON work (status, seq)",
)

# The first advisory-lock key of each purpose; the second is hashtext of the session id or key.
_SPACE = "hashtext(current_schema() || %s)"
SESSION_SPACE = "/crmhub.session"
CALLER_SPACE = "/crmhub.advisory-lock"
SCHEMA_SPACE = "/crmhub.schema"

_WORK_COLUMNS = "seq, session_id, event_id, event, status, attempts, last_error, not_before"


class _PostgresTransaction(StoreTransaction):
    def __init__(self, conn: psycopg.Connection[Any]):
        self._conn = conn
        self._locked_sessions: set[str] = set()

    def _lock_session(self, session_id: str) -> None:
        if session_id not in self._locked_sessions:
            self._conn.execute(f"SELECT pg_advisory_xact_lock({_SPACE}, hashtext(%s))", (SESSION_SPACE, session_id))
            self._locked_sessions.add(session_id)

    def get_session(self, session_id: str) -> SessionState | None:
        self._lock_session(session_id)
        row = self._conn.execute(
            "SELECT state FROM sessions WHERE session_id = %s FOR UPDATE", (session_id,)
        ).fetchone()
        return state_from_json(row[0]) if row else None

    def put_session(self, session_id: str, state: SessionState) -> None:
        self._lock_session(session_id)
        self._conn.execute(
            "INSERT INTO sessions (session_id, state) VALUES (%s, %s) "
            "ON CONFLICT (session_id) DO UPDATE SET state = EXCLUDED.state",
            (session_id, state_to_json(state)),
        )

    def handled_outcome(self, event_id: str) -> dict[str, Any] | None:
        row = self._conn.execute("SELECT outcome FROM handled_events WHERE event_id = %s", (event_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def mark_handled(self, event_id: str, session_id: str, outcome: dict[str, Any]) -> None:
        self._conn.execute(
            "INSERT INTO handled_events (event_id, session_id, outcome) VALUES (%s, %s, %s) "
            "ON CONFLICT (event_id) DO UPDATE SET outcome = EXCLUDED.outcome",
            (event_id, session_id, json.dumps(outcome, separators=(",", ":"))),
        )

    def latest_record(self, end_user_key: str, leaf_queue_id: str) -> str | None:
        row = self._conn.execute(
            "SELECT record_id FROM record_index WHERE end_user_key = %s AND leaf_queue_id = %s",
            (end_user_key, leaf_queue_id),
        ).fetchone()
        return row[0] if row else None

    def remember_record(self, end_user_key: str, leaf_queue_id: str, record_id: str, at: datetime) -> None:
        self._conn.execute(
            "INSERT INTO record_index (end_user_key, leaf_queue_id, record_id, at) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (end_user_key, leaf_queue_id) DO UPDATE SET record_id = EXCLUDED.record_id, at = EXCLUDED.at",
            (end_user_key, leaf_queue_id, record_id, at),
        )

    def enqueue(
        self, session_id: str, event_id: str, event: dict[str, Any], error: str, status: str = "pending",
        not_before: datetime | None = None,
    ) -> None:
        self._conn.execute(
            "INSERT INTO work (session_id, event_id, event, status, attempts, last_error, not_before) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (
                session_id, event_id, json.dumps(event, separators=(",", ":")), status, 1 if error else 0,
                error or None, not_before,
            ),
        )

    def has_pending(self, session_id: str) -> bool:
        row = self._conn.execute(
            "SELECT 1 FROM work WHERE session_id = %s AND status = 'pending' LIMIT 1", (session_id,)
        ).fetchone()
        return row is not None

    def _work(self, where: str, params: tuple[Any, ...], tail: str = "") -> list[WorkItem]:
        rows = self._conn.execute(
            f"SELECT {_WORK_COLUMNS} FROM work WHERE {where} ORDER BY seq {tail}", params
        ).fetchall()
        return [WorkItem(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], r[6], r[7]) for r in rows]

    def pending_work(self, session_id: str | None = None) -> list[WorkItem]:
        if session_id is None:
            return self._work("status = 'pending'", ())
        return self._work("status = 'pending' AND session_id = %s", (session_id,))

    def claim_pending(self, limit: int) -> list[WorkItem]:
        # A session is claimed by locking its oldest pending item (its head); a head another
        # transaction holds is skipped, and the session's later items are never heads meanwhile.
        heads = self._conn.execute(
            "SELECT session_id FROM work AS w WHERE status = 'pending' AND NOT EXISTS ("
            " SELECT 1 FROM work AS older WHERE older.session_id = w.session_id"
            " AND older.status = 'pending' AND older.seq < w.seq"
            ") ORDER BY seq LIMIT %s FOR UPDATE SKIP LOCKED",
            (limit,),
        ).fetchall()
        if not heads:
            return []
        return self._work(
            "status = 'pending' AND session_id = ANY(%s)", ([h[0] for h in heads], limit), "LIMIT %s FOR UPDATE"
        )

    def failed_work(self) -> list[WorkItem]:
        return self._work("status = 'failed'", ())

    def finish_work(self, seq: int) -> None:
        self._conn.execute("DELETE FROM work WHERE seq = %s", (seq,))

    def requeue_failed(self, seq: int | None = None) -> list[int]:
        which, params = ("status = 'failed'", ()) if seq is None else ("status = 'failed' AND seq = %s", (seq,))
        rows = self._conn.execute(
            f"UPDATE work SET status = 'pending', not_before = NULL WHERE {which} RETURNING seq", params
        ).fetchall()
        return sorted(r[0] for r in rows)

    def drop_work(self, seq: int) -> bool:
        return self._conn.execute("DELETE FROM work WHERE seq = %s", (seq,)).rowcount > 0

    def retry_later(
        self, seq: int, error: str, status: str = "pending", not_before: datetime | None = None
    ) -> None:
        self._conn.execute(
            "UPDATE work SET attempts = attempts + 1, last_error = %s, status = %s, not_before = %s WHERE seq = %s",
            (error, status, not_before, seq),
        )


class PostgresStore(Store):
    """A store in a PostgreSQL database, which several crmhub instances may share.

    The URL is libpq's (``postgresql://user@host:port/database?sslmode=require``); a password
    belongs in ``PGPASSWORD``, ``~/.pgpass`` or an ``env:`` setting, not in a settings file. To
    keep the tables in a schema of their own, select it with
    ``?options=-csearch_path%3Dcrmhub``. The tables are created on first use.
    """

    def __init__(self, url: str):
        self.url = url
        self._local = threading.local()
        self._connections: list[psycopg.Connection[Any]] = []
        self._guard = threading.Lock()
        try:
            conn = self._thread_connection("conn")
            with conn.transaction():  # instances starting together must not race on CREATE TABLE
                conn.execute(f"SELECT pg_advisory_xact_lock({_SPACE}, 0)", (SCHEMA_SPACE,))
                for statement in SCHEMA:
                    conn.execute(statement)
        except BaseException:
            self.close()
            raise

    def _thread_connection(self, role: str) -> psycopg.Connection[Any]:
        """This thread's connection for ``role`` (transactions, or advisory locks), reopened if lost."""
        conn = getattr(self._local, role, None)
        if conn is not None and not conn.closed:
            return conn
        params = conninfo_to_dict(self.url)
        params.setdefault("connect_timeout", CONNECT_TIMEOUT_SECONDS)
        fresh = psycopg.connect(**params, autocommit=True)
        fresh.execute("SET synchronous_commit TO on")
        with self._guard:
            if conn is not None:
                self._connections.remove(conn)
            self._connections.append(fresh)
        setattr(self._local, role, fresh)
        return fresh

    def _first_use(self, role: str, use: Callable[[psycopg.Connection[Any]], object]) -> psycopg.Connection[Any]:
        """``use`` the thread's connection; if the server had dropped it meanwhile (a restart, an
        idle timeout), once more on a fresh one — nothing was done on the dead one."""
        conn = self._thread_connection(role)
        try:
            use(conn)
        except psycopg.OperationalError:
            if not conn.closed:
                raise
            conn = self._thread_connection(role)
            use(conn)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[StoreTransaction]:
        with ExitStack() as stack:
            conn = self._first_use("conn", lambda c: stack.enter_context(c.transaction()))
            yield _PostgresTransaction(conn)

    @contextmanager
    def advisory_lock(self, key: str) -> Iterator[None]:
        """``pg_advisory_lock`` on the thread's lock connection: other threads and processes wait.

        The lock lives on its own connection, outside every transaction, so that it spans them;
        should that connection be lost, the server has already released the lock.
        """
        conn = self._first_use(
            "lock_conn", lambda c: c.execute(f"SELECT pg_advisory_lock({_SPACE}, hashtext(%s))", (CALLER_SPACE, key))
        )
        try:
            yield
        finally:
            try:
                conn.execute(f"SELECT pg_advisory_unlock({_SPACE}, hashtext(%s))", (CALLER_SPACE, key))
            except psycopg.OperationalError:  # the connection is gone, and the lock with it
                pass

    def close(self) -> None:
        with self._guard:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()


def scratch_copy_of(url: str) -> Store:
    """A throw-away SQLite store holding a copy of the PostgreSQL store's data (for dry runs).

    The copy is read in one snapshot, and its cost grows with the store's size. Nothing is
    written to the PostgreSQL database, not even the tables of a store never used.
    """
    from crmhub.core.sqlite_store import SCHEMA as SQLITE_SCHEMA
    from crmhub.core.sqlite_store import SQLiteStore

    with tempfile.TemporaryDirectory(prefix="crmhub-export-") as folder:
        export = Path(folder) / "state.db"
        with closing(sqlite3.connect(export)) as target:
            target.executescript(SQLITE_SCHEMA)
            _copy_tables(url, target)
            target.commit()
        return SQLiteStore.scratch_copy_of(f"sqlite:///{export}")


_EXPORTED = {
    "sessions": "session_id, state",
    "handled_events": "event_id, session_id, outcome",
    "record_index": "end_user_key, leaf_queue_id, record_id, at",
    "work": _WORK_COLUMNS,
}


def _copy_tables(url: str, target: sqlite3.Connection) -> None:
    params = conninfo_to_dict(url)
    params.setdefault("connect_timeout", CONNECT_TIMEOUT_SECONDS)
    with psycopg.connect(**params) as source:
        source.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        source.read_only = True
        for table, columns in _EXPORTED.items():
            if source.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0] is None:
                continue
            placeholders = ", ".join("?" * len(columns.split(", ")))
            with source.cursor(name=f"crmhub_export_{table}") as rows:
                rows.execute(f"SELECT {columns} FROM {table}")
                while batch := rows.fetchmany(1000):
                    target.executemany(
                        f"INSERT INTO {table} ({columns}) VALUES ({placeholders})",
                        [tuple(v.isoformat() if isinstance(v, datetime) else v for v in row) for row in batch],
                    )
