"""The records of the built-in ``local`` CRM: one SQLite file, shaped like a small CRM.

A record has an id, title, description, status (``open``/``closed``), tags, the end user and the
key crmhub matches them by, the leaf queue it was created from (the mark ``find_open_record``
searches by), the session that created it, created/closed times, and one note per appended
session. ``crmhub records`` lists them and ``crmhub records close`` closes one, as an agent would.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from crmhub.core.models import CrmRecord

CRM_KEY = "local"
SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL,
    tags TEXT NOT NULL,
    end_user TEXT,
    end_user_key TEXT,
    leaf_queue_id TEXT,
    created_at TEXT NOT NULL,
    closed_at TEXT,
    follow_up_of TEXT
);
CREATE TABLE IF NOT EXISTS record_keys (
    key TEXT NOT NULL,
    record_id INTEGER NOT NULL REFERENCES records (id),
    PRIMARY KEY (key, record_id)
);
CREATE TABLE IF NOT EXISTS notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id INTEGER NOT NULL REFERENCES records (id),
    session_id TEXT NOT NULL,
    text TEXT NOT NULL,
    at TEXT NOT NULL,
    UNIQUE (record_id, session_id)
);
"""


class UnknownRecord(LookupError):
    """No local record has that id."""


@dataclass(frozen=True)
class LocalRecord:
    id: int
    session_id: str
    title: str
    description: str
    status: str
    tags: list[str]
    end_user: dict[str, Any] | None
    end_user_key: str | None
    leaf_queue_id: str | None
    created_at: datetime
    closed_at: datetime | None
    follow_up_of: str | None
    notes: list[dict[str, Any]]

    def to_crm_record(self) -> CrmRecord:
        return CrmRecord(
            crm=CRM_KEY,
            id=str(self.id),
            status="open" if self.status == "open" else "closed",
            crm_status=self.status,
            url=None,
            closed_at=self.closed_at,
            created_at=self.created_at,
            leaf_queue_id=self.leaf_queue_id,
            follow_up_of=self.follow_up_of,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "session_id": self.session_id,
            "title": self.title,
            "description": self.description,
            "status": self.status,
            "tags": self.tags,
            "end_user": self.end_user,
            "leaf_queue_id": self.leaf_queue_id,
            "created_at": self.created_at.isoformat(),
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
            "notes": self.notes,
        }


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class LocalRecords:
    """Thread-safe access to the local CRM's SQLite file."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)
            self._local.conn = conn
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _load(self, rows: list[tuple[Any, ...]]) -> list[LocalRecord]:
        conn = self._conn()
        records = []
        for row in rows:
            notes = [
                {"session_id": n[0], "text": n[1], "at": n[2]}
                for n in conn.execute(
                    "SELECT session_id, text, at FROM notes WHERE record_id = ? ORDER BY id", (row[0],)
                )
            ]
            records.append(
                LocalRecord(
                    id=row[0], session_id=row[1], title=row[2], description=row[3], status=row[4],
                    tags=json.loads(row[5]), end_user=json.loads(row[6]) if row[6] else None,
                    end_user_key=row[7], leaf_queue_id=row[8], created_at=datetime.fromisoformat(row[9]),
                    closed_at=_when(row[10]), follow_up_of=row[11], notes=notes,
                )
            )
        return records

    _COLUMNS = (
        "id, session_id, title, description, status, tags, end_user, end_user_key, leaf_queue_id, "
        "created_at, closed_at, follow_up_of"
    )

    def get(self, record_id: str | int) -> LocalRecord:
        try:
            key = int(record_id)
        except (TypeError, ValueError):
            raise UnknownRecord(f"no local record with id {record_id!r}") from None
        rows = self._conn().execute(f"SELECT {self._COLUMNS} FROM records WHERE id = ?", (key,)).fetchall()
        if not rows:
            raise UnknownRecord(f"no local record with id {record_id!r}")
        return self._load(rows)[0]

    def all(self) -> list[LocalRecord]:
        return self._load(self._conn().execute(f"SELECT {self._COLUMNS} FROM records ORDER BY id").fetchall())

    def by_session(self, session_id: str) -> LocalRecord | None:
        rows = self._conn().execute(
            f"SELECT {self._COLUMNS} FROM records WHERE session_id = ?", (session_id,)
        ).fetchall()
        return self._load(rows)[0] if rows else None

    def candidates(self, end_user_key: str, leaf_queue_id: str) -> list[LocalRecord]:
        """Records from this leaf queue whose end user was known by ``end_user_key`` (any of their keys)."""
        rows = self._conn().execute(
            f"SELECT {self._COLUMNS} FROM records WHERE leaf_queue_id = ? "
            "AND id IN (SELECT record_id FROM record_keys WHERE key = ?)",
            (leaf_queue_id, end_user_key),
        ).fetchall()
        return self._load(rows)

    def create(
        self, *, session_id: str, title: str, description: str, tags: list[str], end_user: dict[str, Any] | None,
        end_user_keys: list[str], leaf_queue_id: str | None, at: datetime, follow_up_of: str | None = None,
    ) -> LocalRecord:
        """Create a record; a second create for the same session returns the first (idempotent)."""
        end_user_key = end_user_keys[0] if end_user_keys else None
        with self._write() as conn:
            created = conn.execute(
                "INSERT INTO records (session_id, title, description, status, tags, end_user, end_user_key, "
                "leaf_queue_id, created_at, follow_up_of) VALUES (?, ?, ?, 'open', ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (session_id) DO NOTHING",
                (
                    session_id, title, description, json.dumps(tags), json.dumps(end_user) if end_user else None,
                    end_user_key, leaf_queue_id, at.isoformat(), follow_up_of,
                ),
            )
            if created.rowcount:
                conn.executemany(
                    "INSERT OR IGNORE INTO record_keys (key, record_id) VALUES (?, ?)",
                    [(key, created.lastrowid) for key in end_user_keys],
                )
        found = self.by_session(session_id)
        assert found is not None
        return found

    def add_session(self, record_id: str, *, session_id: str, text: str, tags: list[str], at: datetime, reopen: bool) -> LocalRecord:
        """Add a note (once per session) and tags; set the status back to open if asked."""
        record = self.get(record_id)
        with self._write() as conn:  # read the tags inside the write lock: appends may race
            current = json.loads(conn.execute("SELECT tags FROM records WHERE id = ?", (record.id,)).fetchone()[0])
            merged = current + [t for t in tags if t not in current]
            conn.execute(
                "INSERT INTO notes (record_id, session_id, text, at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (record_id, session_id) DO NOTHING",
                (record.id, session_id, text, at.isoformat()),
            )
            conn.execute("UPDATE records SET tags = ? WHERE id = ?", (json.dumps(merged), record.id))
            if reopen:
                conn.execute("UPDATE records SET status = 'open', closed_at = NULL WHERE id = ?", (record.id,))
        return self.get(record_id)

    def close(self, record_id: str, at: datetime) -> LocalRecord:
        record = self.get(record_id)
        with self._write() as conn:
            conn.execute("UPDATE records SET status = 'closed', closed_at = ? WHERE id = ?", (at.isoformat(), record.id))
        return self.get(record_id)
