"""The state store contract: what the dispatcher keeps between events, and how.

One :meth:`Store.transaction` per step of an event; everything written inside it is committed
together or not at all. Backends (SQLite for one host, PostgreSQL for several instances sharing one
state) pass the same contract tests (``tests/test_store_contract.py``).

What is kept:
- each session's :class:`~crmhub.core.rules.SessionState` (JSON);
- each handled event id with the outcome it got, so that a redelivery is answered ``duplicate``;
- the index of the newest record per (end user, leaf queue): a hint for ``find_open_record``;
- queued work: events waiting, in arrival order per session, for the CRM to be reachable again,
  and failed ones kept for inspection.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from crmhub.core.errors import SettingsError
from crmhub.core.models import CrmRecord
from crmhub.core.rules import SessionState

POSTGRES_PREFIXES = ("postgresql://", "postgres://")


_STATE_FIELDS = tuple(f.name for f in fields(SessionState))
_COMPACT_SORTED_JSON = json.JSONEncoder(separators=(",", ":"), sort_keys=True).encode


def state_to_json(state: SessionState) -> str:
    # Not dataclasses.asdict: it deep-copies session_fields, which are JSON-ready as they are,
    # and that copy was the costliest step of a stored event.
    data = {name: getattr(state, name) for name in _STATE_FIELDS}
    data["record"] = state.record.to_state() if state.record else None
    data["first_event_at"] = state.first_event_at.isoformat() if state.first_event_at else None
    return _COMPACT_SORTED_JSON(data)


def state_from_json(text: str) -> SessionState:
    data = json.loads(text)
    data["record"] = CrmRecord.from_state(data["record"]) if data.get("record") else None
    data["first_event_at"] = datetime.fromisoformat(data["first_event_at"]) if data.get("first_event_at") else None
    return SessionState(**data)


@dataclass(frozen=True)
class WorkItem:
    """An accepted event waiting for the CRM (``pending``) or refused by it (``failed``)."""

    seq: int
    session_id: str
    event_id: str
    event: dict[str, Any]
    status: str
    attempts: int
    last_error: str | None
    not_before: datetime | None = None  # not to be run again before this (wall clock, UTC): backoff


@dataclass(frozen=True)
class Arrival:
    """What handling a newly arrived event starts from (see :meth:`StoreTransaction.arrival`)."""

    first_outcome: dict[str, Any] | None
    """The outcome the event id got before, or None: the event is new."""
    session_queued: bool
    """Whether earlier events of the session wait in the queue (the event must queue behind them)."""
    state: SessionState | None
    """The session's state, locked as :meth:`StoreTransaction.get_session` locks it."""


class StoreTransaction(ABC):
    """The operations available inside one transaction."""

    def arrival(self, event_id: str, session_id: str) -> Arrival:
        """:meth:`handled_outcome`, :meth:`has_pending` and :meth:`get_session` at once: every event
        asks all three, and a backend may answer them in one statement."""
        return Arrival(self.handled_outcome(event_id), self.has_pending(session_id), self.get_session(session_id))

    @abstractmethod
    def get_session(self, session_id: str) -> SessionState | None:
        """The session's state. Getting or putting a session locks it: until this transaction
        ends, other transactions that get or put it wait, whether or not it existed."""

    @abstractmethod
    def put_session(self, session_id: str, state: SessionState) -> None:
        """Store the session's state (locking it, as :meth:`get_session` does)."""

    @abstractmethod
    def handled_outcome(self, event_id: str) -> dict[str, Any] | None:
        """The outcome last recorded for this event id, or None if it was never handled."""

    @abstractmethod
    def mark_handled(self, event_id: str, session_id: str, outcome: dict[str, Any]) -> None:
        """Remember (or update) the outcome of an event id."""

    @abstractmethod
    def latest_record(self, end_user_key: str, leaf_queue_id: str) -> str | None: ...

    @abstractmethod
    def remember_record(self, end_user_key: str, leaf_queue_id: str, record_id: str, at: datetime) -> None: ...

    @abstractmethod
    def enqueue(
        self, session_id: str, event_id: str, event: dict[str, Any], error: str, status: str = "pending",
        not_before: datetime | None = None,
    ) -> None:
        """Keep an event as work for later (``pending``, due from ``not_before``, or at once if
        None) or for inspection (``failed``)."""

    @abstractmethod
    def has_pending(self, session_id: str) -> bool: ...

    @abstractmethod
    def pending_work(self, session_id: str | None = None) -> list[WorkItem]:
        """Pending items in arrival order (all sessions, or one)."""

    @abstractmethod
    def claim_pending(self, limit: int) -> list[WorkItem]:
        """Up to ``limit`` pending items that no other open transaction has claimed, oldest first;
        the claim lasts until this transaction ends.

        A session's items are claimed together, from its oldest pending one: a session whose
        oldest item another transaction holds is skipped whole, so that no two instances run one
        session's events out of order.
        """

    @abstractmethod
    def failed_work(self) -> list[WorkItem]: ...

    @abstractmethod
    def finish_work(self, seq: int) -> None:
        """Remove a work item that has been handled."""

    @abstractmethod
    def requeue_failed(self, seq: int | None = None) -> list[int]:
        """Move a failed item (or, with None, every one) back to ``pending``, due at once; the
        sequence numbers moved, in order. An item keeps its place in its session's order."""

    @abstractmethod
    def drop_work(self, seq: int) -> bool:
        """Remove a work item, pending or failed, for good (its event's outcome stays recorded);
        False if there is none with that number."""

    @abstractmethod
    def retry_later(
        self, seq: int, error: str, status: str = "pending", not_before: datetime | None = None
    ) -> None:
        """Count a failed attempt on a work item (and move it to ``failed`` if asked); it is due
        again from ``not_before`` (at once if None)."""


class Store(ABC):
    """A durable store. Thread-safe: each thread gets its own connection."""

    url: str

    @abstractmethod
    def transaction(self) -> AbstractContextManager[StoreTransaction]: ...

    @abstractmethod
    def advisory_lock(self, key: str) -> AbstractContextManager[None]:
        """Hold ``key`` against the other processes that share this store, until the block ends.

        For work that spans several transactions and CRM calls — one session's event, one end
        user's leaf queue — which in-process locks cannot guard once several crmhub instances
        share one store. A thread may take a key it already holds (the holds nest). A backend may
        hash keys: two unrelated keys can, rarely, wait for each other; one key is never held by
        two processes at once. A backend that only one host can use may make this a no-op.
        """

    @abstractmethod
    def close(self) -> None: ...


def open_store(url: str, *, scratch_copy: bool = False) -> Store:
    """The backend for a store URL (``sqlite:///path``, ``postgresql://…`` or ``postgres://…``).

    With ``scratch_copy`` the store is a temporary copy of the one at ``url`` (for dry runs):
    nothing written to it reaches the original, and it is deleted on :meth:`Store.close`.
    """
    if url.startswith("sqlite:///"):
        from crmhub.core.sqlite_store import SQLiteStore

        return SQLiteStore.scratch_copy_of(url) if scratch_copy else SQLiteStore(url)
    if url.startswith(POSTGRES_PREFIXES):
        try:
            from crmhub.core.postgres_store import PostgresStore, scratch_copy_of
        except ModuleNotFoundError as error:
            if error.name != "psycopg":
                raise
            raise SettingsError(
                {"store.url": ["a PostgreSQL store needs psycopg 3: pip install 'crmhub[postgres]'"]}
            ) from None
        return scratch_copy_of(url) if scratch_copy else PostgresStore(url)
    raise ValueError(f"unsupported store URL {url!r}: use sqlite:///PATH or postgresql://HOST/DATABASE")
