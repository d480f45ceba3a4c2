"""The SQLite state store: WAL mode, ``synchronous=FULL``, one ``BEGIN IMMEDIATE`` per step.

Each thread has its own connection (SQLite connections are not shared across threads); writers
are serialised by SQLite's own lock, with a generous busy timeout.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from crmhub.core.rules import SessionState
from crmhub.core.store import Store, StoreTransaction, WorkItem, state_from_json, state_to_json

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS handled_events (
    event_id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    outcome TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS record_index (
    end_user_key TEXT NOT NULL,
    leaf_queue_id TEXT NOT NULL,
    record_id TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (end_user_key, leaf_queue_id)
);
CREATE TABLE IF NOT EXISTS work (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    not_before TEXT
);
CREATE INDEX IF NOT EXISTS work_by_session ON work (session_id, status, seq);
"""


class _SQLiteTransaction(StoreTransaction):
    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn

    def get_session(self, session_id: str) -> SessionState | None:
        row = self._conn.execute("SELECT state FROM sessions WHERE session_id = ?", (session_id,)).fetchone()
        return state_from_json(row[0]) if row else None

    def put_session(self, session_id: str, state: SessionState) -> None:
        self._conn.execute(
            "INSERT INTO sessions (session_id, state) VALUES (?, ?) "
            "ON CONFLICT (session_id) DO UPDATE SET state = excluded.state",
            (session_id, state_to_json(state)),
        )

    def handled_outcome(self, event_id: str) -> dict[str, Any] | None:
        row = self._conn.execute("SELECT outcome FROM handled_events WHERE event_id = ?", (event_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def mark_handled(self, event_id: str, session_id: str, outcome: dict[str, Any]) -> None:
        self._conn.execute(
            "INSERT INTO handled_events (event_id, session_id, outcome) VALUES (?, ?, ?) "
            "ON CONFLICT (event_id) DO UPDATE SET outcome = excluded.outcome",
            (event_id, session_id, json.dumps(outcome, separators=(",", ":"))),
        )

    def latest_record(self, end_user_key: str, leaf_queue_id: str) -> str | None:
        row = self._conn.execute(
            "SELECT record_id FROM record_index WHERE end_user_key = ? AND leaf_queue_id = ?",
            (end_user_key, leaf_queue_id),
        ).fetchone()
        return row[0] if row else None

    def remember_record(self, end_user_key: str, leaf_queue_id: str, record_id: str, at: datetime) -> None:
        self._conn.execute(
            "INSERT INTO record_index (end_user_key, leaf_queue_id, record_id, at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (end_user_key, leaf_queue_id) DO UPDATE SET record_id = excluded.record_id, at = excluded.at",
            (end_user_key, leaf_queue_id, record_id, at.isoformat()),
        )

    def enqueue(
        self, session_id: str, event_id: str, event: dict[str, Any], error: str, status: str = "pending",
        not_before: datetime | None = None,
    ) -> None:
        self._conn.execute(
            "INSERT INTO work (session_id, event_id, event, status, attempts, last_error, not_before) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                session_id, event_id, json.dumps(event, separators=(",", ":")), status, 1 if error else 0,
                error or None, _timestamp(not_before),
            ),
        )

    def has_pending(self, session_id: str) -> bool:
        row = self._conn.execute(
            "SELECT 1 FROM work WHERE session_id = ? AND status = 'pending' LIMIT 1", (session_id,)
        ).fetchone()
        return row is not None

    def _work(self, where: str, params: tuple[Any, ...]) -> list[WorkItem]:
        rows = self._conn.execute(
            "SELECT seq, session_id, event_id, event, status, attempts, last_error, not_before FROM work "
            f"WHERE {where} ORDER BY seq",
            params,
        ).fetchall()
        return [
            WorkItem(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], r[6], datetime.fromisoformat(r[7]) if r[7] else None)
            for r in rows
        ]

    def pending_work(self, session_id: str | None = None) -> list[WorkItem]:
        if session_id is None:
            return self._work("status = 'pending'", ())
        return self._work("status = 'pending' AND session_id = ?", (session_id,))

    def claim_pending(self, limit: int) -> list[WorkItem]:
        # BEGIN IMMEDIATE keeps every other writer out until this transaction ends: all is claimed.
        return self._work("seq IN (SELECT seq FROM work WHERE status = 'pending' ORDER BY seq LIMIT ?)", (limit,))

    def failed_work(self) -> list[WorkItem]:
        return self._work("status = 'failed'", ())

    def finish_work(self, seq: int) -> None:
        self._conn.execute("DELETE FROM work WHERE seq = ?", (seq,))

    def requeue_failed(self, seq: int | None = None) -> list[int]:
        which, params = ("status = 'failed'", ()) if seq is None else ("status = 'failed' AND seq = ?", (seq,))
        rows = self._conn.execute(
            f"UPDATE work SET status = 'pending', not_before = NULL WHERE {which} RETURNING seq", params
        ).fetchall()
        return sorted(r[0] for r in rows)

    def drop_work(self, seq: int) -> bool:
        return self._conn.execute("DELETE FROM work WHERE seq = ?", (seq,)).rowcount > 0

    def retry_later(
        self, seq: int, error: str, status: str = "pending", not_before: datetime | None = None
    ) -> None:
        self._conn.execute(
            "UPDATE work SET attempts = attempts + 1, last_error = ?, status = ?, not_before = ? WHERE seq = ?",
            (error, status, _timestamp(not_before), seq),
        )


def _timestamp(moment: datetime | None) -> str | None:
    """UTC ISO text, or None: what the ``not_before`` column holds."""
    return moment.astimezone(timezone.utc).isoformat() if moment else None


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    """Bring a store file made by an older crmhub up to the current tables (inside a write transaction)."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(work)")}
    if "not_before" not in columns:
        conn.execute("ALTER TABLE work ADD COLUMN not_before TEXT")


class SQLiteStore(Store):
    """A store in one SQLite file (``sqlite:///path``)."""

    def __init__(self, url: str):
        self.url = url
        self.path = url[len("sqlite:///"):]
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._scratch: str | None = None
        with self.transaction() as tx:
            _add_missing_columns(tx._conn)

    @classmethod
    def scratch_copy_of(cls, url: str) -> "SQLiteStore":
        """A store in a temporary file holding a copy of ``url``'s data, deleted on close."""
        folder = tempfile.mkdtemp(prefix="crmhub-scratch-")
        target = Path(folder) / "state.db"
        source = Path(url[len("sqlite:///"):])
        if source.exists():
            with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
                src.backup(dst)
        store = cls("sqlite:///" + str(target))
        store._scratch = folder
        return store

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.executescript(SCHEMA)
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[StoreTransaction]:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield _SQLiteTransaction(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def advisory_lock(self, key: str) -> Iterator[None]:
        """Nothing to take. Single host: the in-process locks suffice; several processes on one
        SQLite file serialise their transactions but not their CRM calls."""
        yield

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()
        if self._scratch:
            shutil.rmtree(self._scratch, ignore_errors=True)
