"""What the SQL stores (SQLite, PostgreSQL) share: the transaction operations, per-thread connections.

Both backends keep the same tables and run the same statements on them. What truly differs stays
in each backend: the connection and its settings, the DDL, how a transaction keeps the others
out (SQLite's ``BEGIN IMMEDIATE``; PostgreSQL's advisory and row locks), how queued work is
claimed (``SKIP LOCKED`` on PostgreSQL), the placeholder and how a timestamp is stored.

The statements here use SQLite's ``?`` placeholder; a driver that wants another one translates
them in :meth:`SQLStoreTransaction._execute`. So that the translation stays a plain substitution,
no statement here holds a literal ``?`` or ``%``.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime
from typing import Any

from crmhub.core.rules import SessionState
from crmhub.core.store import Store, StoreTransaction, WorkItem, state_from_json, state_to_json

_compact_json = json.JSONEncoder(separators=(",", ":")).encode
"""``json.dumps`` with compact separators, without building an encoder per call."""

WORK_COLUMNS = "seq, session_id, event_id, event, status, attempts, last_error, not_before"
"""The ``work`` columns, in the order of :class:`WorkItem`'s fields."""


class SQLStoreTransaction(StoreTransaction):
    """:class:`StoreTransaction` over one connection whose transaction the backend has begun.

    A backend adds :meth:`claim_pending` and overrides the hooks below where its database differs.
    """

    _select_session = "SELECT state FROM sessions WHERE session_id = ?"
    """How :meth:`get_session` reads a session's row; a backend may add a row lock to it."""

    def __init__(self, conn: Any):
        self._conn = conn

    # --- what a backend may change ------------------------------------------------------------

    def _execute(self, sql: str, params: tuple[Any, ...]) -> Any:
        """Run one statement (``?`` placeholders) on the connection; the driver's cursor."""
        return self._conn.execute(sql, params)

    def _lock_session(self, session_id: str) -> None:
        """Keep other transactions off this session until this one ends (see
        :meth:`StoreTransaction.get_session`). Nothing to do where transactions already exclude
        each other."""

    def _time_param(self, at: datetime) -> Any:
        """``at`` as the driver takes it for a timestamp column (one that adapts datetimes: as is)."""
        return at

    def _not_before_param(self, moment: datetime | None) -> Any:
        """``not_before`` as the driver takes it for its column (None stays None)."""
        return moment

    def _not_before_value(self, value: Any) -> datetime | None:
        """The ``not_before`` column's value as a datetime (or None)."""
        return value

    # --- the operations -------------------------------------------------------------------------

    def get_session(self, session_id: str) -> SessionState | None:
        self._lock_session(session_id)
        row = self._execute(self._select_session, (session_id,)).fetchone()
        return state_from_json(row[0]) if row else None

    def put_session(self, session_id: str, state: SessionState) -> None:
        self._lock_session(session_id)
        self._execute(
            "INSERT INTO sessions (session_id, state) VALUES (?, ?) "
            "ON CONFLICT (session_id) DO UPDATE SET state = excluded.state",
            (session_id, state_to_json(state)),
        )

    def handled_outcome(self, event_id: str) -> dict[str, Any] | None:
        row = self._execute("SELECT outcome FROM handled_events WHERE event_id = ?", (event_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def mark_handled(self, event_id: str, session_id: str, outcome: dict[str, Any]) -> None:
        self._execute(
            "INSERT INTO handled_events (event_id, session_id, outcome) VALUES (?, ?, ?) "
            "ON CONFLICT (event_id) DO UPDATE SET outcome = excluded.outcome",
            (event_id, session_id, _compact_json(outcome)),
        )

    def latest_record(self, end_user_key: str, leaf_queue_id: str) -> str | None:
        row = self._execute(
            "SELECT record_id FROM record_index WHERE end_user_key = ? AND leaf_queue_id = ?",
            (end_user_key, leaf_queue_id),
        ).fetchone()
        return row[0] if row else None

    def remember_record(self, end_user_key: str, leaf_queue_id: str, record_id: str, at: datetime) -> None:
        self._execute(
            "INSERT INTO record_index (end_user_key, leaf_queue_id, record_id, at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (end_user_key, leaf_queue_id) DO UPDATE SET record_id = excluded.record_id, at = excluded.at",
            (end_user_key, leaf_queue_id, record_id, self._time_param(at)),
        )

    def enqueue(
        self, session_id: str, event_id: str, event: dict[str, Any], error: str, status: str = "pending",
        not_before: datetime | None = None,
    ) -> None:
        self._execute(
            "INSERT INTO work (session_id, event_id, event, status, attempts, last_error, not_before) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                session_id, event_id, _compact_json(event), status, 1 if error else 0,
                error or None, self._not_before_param(not_before),
            ),
        )

    def has_pending(self, session_id: str) -> bool:
        row = self._execute(
            "SELECT 1 FROM work WHERE session_id = ? AND status = 'pending' LIMIT 1", (session_id,)
        ).fetchone()
        return row is not None

    def _work(self, where: str, params: tuple[Any, ...], tail: str = "") -> list[WorkItem]:
        """The work items ``where`` says, in arrival order; ``tail`` follows the ``ORDER BY``."""
        rows = self._execute(f"SELECT {WORK_COLUMNS} FROM work WHERE {where} ORDER BY seq{tail}", params).fetchall()
        return [
            WorkItem(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], r[6], self._not_before_value(r[7]))
            for r in rows
        ]

    def pending_work(self, session_id: str | None = None) -> list[WorkItem]:
        if session_id is None:
            return self._work("status = 'pending'", ())
        return self._work("status = 'pending' AND session_id = ?", (session_id,))

    def failed_work(self) -> list[WorkItem]:
        return self._work("status = 'failed'", ())

    def finish_work(self, seq: int) -> None:
        self._execute("DELETE FROM work WHERE seq = ?", (seq,))

    def requeue_failed(self, seq: int | None = None) -> list[int]:
        which, params = ("status = 'failed'", ()) if seq is None else ("status = 'failed' AND seq = ?", (seq,))
        rows = self._execute(
            f"UPDATE work SET status = 'pending', not_before = NULL WHERE {which} RETURNING seq", params
        ).fetchall()
        return sorted(r[0] for r in rows)

    def drop_work(self, seq: int) -> bool:
        return self._execute("DELETE FROM work WHERE seq = ?", (seq,)).rowcount > 0

    def retry_later(
        self, seq: int, error: str, status: str = "pending", not_before: datetime | None = None
    ) -> None:
        self._execute(
            "UPDATE work SET attempts = attempts + 1, last_error = ?, status = ?, not_before = ? WHERE seq = ?",
            (error, status, self._not_before_param(not_before), seq),
        )


class SQLStore(Store):
    """A store whose every thread has connections of its own, all closed together by :meth:`close`.

    A transaction belongs to its connection: threads that ran theirs on one connection would
    share (and commit) each other's work, or wait for it.
    """

    def __init__(self) -> None:
        self._local = threading.local()
        self._connections: list[Any] = []
        self._guard = threading.Lock()

    def _keep(self, role: str, conn: Any, replacing: Any = None) -> None:
        """Make ``conn`` this thread's connection for ``role``, in place of ``replacing`` (a lost one)."""
        with self._guard:
            if replacing is not None:
                self._connections.remove(replacing)
            self._connections.append(conn)
        setattr(self._local, role, conn)

    def close(self) -> None:
        with self._guard:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()
