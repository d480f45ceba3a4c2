"""The SQLite state store: WAL mode, ``synchronous=FULL``, one ``BEGIN IMMEDIATE`` per step.

Each thread has its own connection (SQLite connections are not shared across threads); writers
are serialised by SQLite's own lock, with a generous busy timeout.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import datetime, timezone
from pathlib import Path

from crmhub.core.sql_store import SQLStore, SQLStoreTransaction
from crmhub.core.store import Arrival, StoreTransaction, WorkItem, state_from_json

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


class _SQLiteTransaction(SQLStoreTransaction):
    """The shared operations on a connection in ``BEGIN IMMEDIATE``, which already keeps every
    other writer out: no session lock to take; timestamps are kept as ISO text."""

    def arrival(self, event_id: str, session_id: str) -> Arrival:
        """One statement for the three questions every event asks (a third of its statements)."""
        outcome, queued, state = self._execute(
            "SELECT (SELECT outcome FROM handled_events WHERE event_id = ?), "
            "EXISTS (SELECT 1 FROM work WHERE session_id = ? AND status = 'pending'), "
            "(SELECT state FROM sessions WHERE session_id = ?)",
            (event_id, session_id, session_id),
        ).fetchone()
        return Arrival(
            json.loads(outcome) if outcome is not None else None, bool(queued),
            state_from_json(state) if state is not None else None,
        )

    def _time_param(self, at: datetime) -> str:
        return at.isoformat()

    def _not_before_param(self, moment: datetime | None) -> str | None:
        """UTC ISO text, or None: what the ``not_before`` column holds."""
        return moment.astimezone(timezone.utc).isoformat() if moment else None

    def _not_before_value(self, value: str | None) -> datetime | None:
        return datetime.fromisoformat(value) if value else None

    def claim_pending(self, limit: int) -> list[WorkItem]:
        # BEGIN IMMEDIATE keeps every other writer out until this transaction ends: all is claimed.
        return self._work("seq IN (SELECT seq FROM work WHERE status = 'pending' ORDER BY seq LIMIT ?)", (limit,))


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    """Bring a store file made by an older crmhub up to the current tables (inside a write transaction)."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(work)")}
    if "not_before" not in columns:
        conn.execute("ALTER TABLE work ADD COLUMN not_before TEXT")


class SQLiteStore(SQLStore):
    """A store in one SQLite file (``sqlite:///path``)."""

    def __init__(self, url: str):
        self.url = url
        self.path = url[len("sqlite:///"):]
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        super().__init__()
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
            self._keep("conn", conn)
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
        super().close()
        if self._scratch:
            shutil.rmtree(self._scratch, ignore_errors=True)
