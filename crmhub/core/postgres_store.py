"""The PostgreSQL state store, for several crmhub instances sharing one state (``postgresql://…``).

The tables are those of the SQLite store, and so are the statements of a transaction's operations
(:mod:`crmhub.core.sql_store`); this module adds the locks. JSON is kept as text, not ``jsonb``:
``jsonb`` refuses the ``\\u0000`` escape, which a host may well send inside a chat message, and
nothing here queries inside the JSON.

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

import functools
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from crmhub.core.sql_store import WORK_COLUMNS, SQLStore, SQLStoreTransaction
from crmhub.core.store import Store, StoreTransaction, WorkItem

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


class _PostgresTransaction(SQLStoreTransaction):
    """The shared operations in a ``READ COMMITTED`` transaction, where other instances run at
    the same time: sessions are locked, queued work is claimed with ``SKIP LOCKED``."""

    _select_session = SQLStoreTransaction._select_session + " FOR UPDATE"

    def __init__(self, conn: psycopg.Connection[Any]):
        super().__init__(conn)
        self._locked_sessions: set[str] = set()

    def _execute(self, sql: str, params: tuple[Any, ...]) -> psycopg.Cursor[Any]:
        return self._conn.execute(_format_placeholders(sql), params)

    def _lock_session(self, session_id: str) -> None:
        if session_id not in self._locked_sessions:
            self._conn.execute(f"SELECT pg_advisory_xact_lock({_SPACE}, hashtext(%s))", (SESSION_SPACE, session_id))
            self._locked_sessions.add(session_id)

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
            "status = 'pending' AND session_id = ANY(?)", ([h[0] for h in heads], limit), " LIMIT ? FOR UPDATE"
        )


@functools.cache
def _format_placeholders(sql: str) -> str:
    """A shared statement with psycopg's ``%s`` for each ``?``; cached, as the statements are a
    fixed few and run for every step."""
    return sql.replace("?", "%s")


class PostgresStore(SQLStore):
    """A store in a PostgreSQL database, which several crmhub instances may share.

    The URL is libpq's (``postgresql://user@host:port/database?sslmode=require``); a password
    belongs in ``PGPASSWORD``, ``~/.pgpass`` or an ``env:`` setting, not in a settings file. To
    keep the tables in a schema of their own, select it with
    ``?options=-csearch_path%3Dcrmhub``. The tables are created on first use.
    """

    def __init__(self, url: str):
        super().__init__()
        self.url = url
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
        self._keep(role, fresh, replacing=conn)
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
    "work": WORK_COLUMNS,
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
