"""Dry runs: decide everything, send no write to the CRM, change nothing in the store.

:class:`DryRunCrm` stands in for the selected CRM's hooks. Reads (finding records) still go to
the CRM, so that the decisions are the real ones; writes are described and answered with
stand-in records (ids ``dry-run-1``, ``dry-run-2``, …) that later reads in the same run see, as the
CRM would. The dispatcher works on a throw-away copy of the store.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from crmhub.core.facade import CrmHooks
from crmhub.core.identity import end_user_key
from crmhub.core.models import CrmRecord, NewRecord, RecordQuery, Session, SessionNote
from crmhub.core.rules import pick_record


class DryRunCrm:
    """The :class:`CrmHooks` interface, with writes planned instead of sent."""

    def __init__(self, real: CrmHooks):
        self.real = real
        self.crm = real.crm
        self.plugin_name = real.plugin_name
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._known: dict[str, tuple[CrmRecord, str | None, str | None]] = {}  # id → (record, user key, queue)
        self._created_for: dict[str, str] = {}  # session id → stand-in record id
        self._planned = threading.local()

    def take_planned(self) -> list[dict[str, Any]]:
        """The writes planned on this thread since the last call."""
        planned = getattr(self._planned, "calls", [])
        self._planned.calls = []
        return planned

    def _plan(self, call: str, **details: Any) -> None:
        if not hasattr(self._planned, "calls"):
            self._planned.calls = []
        self._planned.calls.append({"call": call, **details})

    def _remember(self, record: CrmRecord, session: Session) -> None:
        queue = session.leaf_queue.id if session.leaf_queue else None
        with self._lock:
            self._known[record.id] = (record, end_user_key(session.end_user), queue)

    def client(self, settings: Any, config_dir: Any) -> Any:
        return self.real.client(settings, config_dir)

    def format_tags(self, tags: Sequence[str]) -> list[str]:
        return self.real.format_tags(tags)

    def find_open_record(self, client: Any, query: RecordQuery) -> CrmRecord | None:
        where = (end_user_key(query.end_user), query.leaf_queue.id)
        with self._lock:
            ours = {r.id: r for r, *owner in self._known.values() if tuple(owner) == where}
        found = self.real.find_open_record(client, query)
        if found is not None and found.id not in ours:
            ours[found.id] = found
        return pick_record(ours.values(), query.closed_since)

    def find_record_for_session(self, client: Any, session_id: str) -> CrmRecord | None:
        with self._lock:
            record_id = self._created_for.get(session_id)
            if record_id is not None:
                return self._known[record_id][0]
        return self.real.find_record_for_session(client, session_id)

    def create_record(self, client: Any, record: NewRecord) -> CrmRecord:
        session = record.session
        made = CrmRecord(
            crm=self.crm, id=f"dry-run-{next(self._ids)}", status="open", crm_status="dry-run",
            created_at=record.at, leaf_queue_id=session.leaf_queue.id if session.leaf_queue else None,
        )
        self._remember(made, session)
        with self._lock:
            self._created_for[session.id] = made.id
        self._plan("create_record", title=record.title, tags=list(record.tags), session_id=session.id)
        return made

    def append_session(self, client: Any, record: CrmRecord, note: SessionNote) -> CrmRecord:
        self._plan("append_session", record_id=record.id, tags=list(note.tags), session_id=note.session.id)
        return record

    def reopen(self, client: Any, record: CrmRecord, note: SessionNote) -> CrmRecord:
        reopened = replace(record, status="open", crm_status="dry-run", closed_at=None)
        self._remember(reopened, note.session)
        self._plan("reopen", record_id=record.id, tags=list(note.tags), session_id=note.session.id)
        return reopened
