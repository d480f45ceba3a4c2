"""The five record operations against Freshdesk; the object the ``crm_client`` hook returns.

Endpoints (Freshdesk API v2) and why:

* ``GET /api/v2/contacts?<unique_external_id|phone|mobile|email>=...`` — the end user's contact
  (:mod:`.requesters`); ``POST /api/v2/contacts`` when there is none.
* ``GET /api/v2/tickets?requester_id=...&include=stats&updated_since=...&order_by=created_at``
  — the requester's tickets, newest first, with ``stats.closed_at``/``resolved_at``. This list
  reads the database: the filter API (``/search/tickets``) lags by minutes and would miss the
  ticket made by the previous session. Without ``updated_since`` Freshdesk lists only the last 30
  days; crmhub asks for ``lookback_days`` (365). Candidates are the tickets carrying the leaf-queue
  mark (:mod:`.marks`).
* ``GET /api/v2/tickets/{id}?include=stats`` — the ticket crmhub remembers (``query.hint``): when
  it is still open in the same leaf queue, one call answers ``find_open_record``.
* ``POST /api/v2/tickets`` — a new ticket, filed under ``requester_id`` (or, for an anonymous
  session, the ``email`` of ``anonymous_requester_email``), status 2, source 3 (phone) or 7 (chat).
* ``PUT /api/v2/tickets/{id}`` — status 2 to reopen, and tags. A PUT replaces the tag list and
  the v2 API has no add-tags call for tickets, so the new list is the ticket's current tags (read
  by the lookup just before, or with ``GET /api/v2/tickets/{id}``) plus the missing ones, and the
  PUT is skipped when nothing is missing.
* ``POST /api/v2/tickets/{id}/notes`` with ``private: true`` — the appended session. Freshdesk
  cannot add a note in a ticket update, so a reopen is two requests: the PUT, then the note
  (status first: if the note fails, the retry finds the ticket open and appends).
* ``GET /api/v2/tickets?order_by=created_at`` then ``GET /api/v2/search/tickets?query=...`` —
  reconciliation by the session mark: the newest tickets first (a create whose answer was lost is
  recent, and not yet in the search index), then the filter API for older ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from crmhub.core.errors import PermanentCrmError
from crmhub.core.identity import end_user_key
from crmhub.core.models import CrmRecord, NewRecord, RecordQuery, Session, SessionNote
from crmhub.core.rules import pick_record
from crmhub.core.tags import unique

from crmhub_freshdesk.bodies import html_text
from crmhub_freshdesk.client import FreshdeskHttp, body_of
from crmhub_freshdesk.failures import malformed
from crmhub_freshdesk.handoffs import MISSING, Handoffs
from crmhub_freshdesk.marks import Marks
from crmhub_freshdesk.records import OPEN, UnexpectedTicket, ticket_record, ticket_tags
from crmhub_freshdesk.requesters import Requesters
from crmhub_freshdesk.settings import FreshdeskSettings

SOURCES = {"call": 3, "chat": 7}
"""Freshdesk ticket sources: 3 Phone, 7 Chat."""
MAX_SUBJECT = 255
NOT_FOUND = 404


def _utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class FreshdeskConnector:
    """Finds, creates, appends to and reopens tickets in one Freshdesk helpdesk."""

    def __init__(self, settings: FreshdeskSettings):
        self.settings = settings
        self.http = FreshdeskHttp(settings)
        self.marks = Marks(settings.queue_field, settings.session_field)
        self.requesters = Requesters(self.http, settings.default_phone_region, settings.use_unique_external_id)
        self.handoffs = Handoffs()

    def __repr__(self) -> str:
        return f"FreshdeskConnector(base_url={self.settings.base_url!r})"

    # --- find_open_record ---------------------------------------------------------------------

    def find_open_record(self, query: RecordQuery) -> CrmRecord | None:
        """The remembered ticket when it is still open in the leaf queue (one call); else the
        requester's tickets (the remembered ticket names the requester, else the contact look-up
        does), with :func:`pick_record` choosing among those marked with the leaf queue."""
        key = end_user_key(query.end_user, self.settings.default_phone_region)
        if key is None:
            return None
        queue = query.leaf_queue.id
        requester: int | None = None
        if query.hint:
            hinted = self._hinted(query.hint)
            if hinted is not None:
                record = self._record(hinted, "read the remembered ticket", queue)
                if record.is_open and self.marks.in_queue(hinted, queue):
                    self.handoffs.put(("ticket", record.id), hinted)
                    return record
                requester = _requester_id(hinted)
        if requester is None:
            requester = self.requesters.find(query.end_user)
        self.handoffs.put(("requester", key), requester)
        if requester is None:
            return None
        return self._newest_candidate(requester, queue, query)

    def _hinted(self, record_id: str) -> Mapping[str, Any] | None:
        """The remembered ticket with its stats, or None if Freshdesk no longer has it."""
        action = f"read ticket {record_id}"
        response = self.http.call(
            "GET", f"/tickets/{record_id}", action, params={"include": "stats"}, allow=frozenset({NOT_FOUND})
        )
        if response.status_code == NOT_FOUND:
            return None
        return body_of(response, action, dict, is_write=False)

    def _newest_candidate(self, requester: int, queue: str, query: RecordQuery) -> CrmRecord | None:
        """:func:`pick_record` over the requester's tickets marked with ``queue``. Pages come newest
        first, so the first open candidate found is the newest open one and paging stops there."""
        action = f"list the tickets of contact {requester}"
        params = {
            "requester_id": str(requester),
            "include": "stats",
            "updated_since": _utc(query.at - timedelta(days=self.settings.lookback_days)),
            "order_by": "created_at",
            "order_type": "desc",
        }
        tickets: dict[str, Mapping[str, Any]] = {}
        candidates: list[CrmRecord] = []
        for page in self.http.pages("/tickets", action, params, self.settings.max_pages):
            for ticket in page:
                if isinstance(ticket, Mapping) and self.marks.in_queue(ticket, queue):
                    record = self._record(ticket, action, queue)
                    tickets[record.id] = ticket
                    candidates.append(record)
            if any(record.is_open for record in candidates):
                break
        picked = pick_record(candidates, query.closed_since)
        if picked is not None:
            self.handoffs.put(("ticket", picked.id), tickets[picked.id])
        return picked

    # --- create_record ------------------------------------------------------------------------

    def create_record(self, new: NewRecord) -> CrmRecord:
        session = new.session
        queue = session.leaf_queue.id if session.leaf_queue else None
        mark_tags, mark_fields = self.marks.for_new_ticket(queue, session.id)
        body: dict[str, Any] = {
            "subject": new.title[:MAX_SUBJECT],
            "description": html_text(new.description),
            "status": OPEN,
            "priority": self.settings.priority,
            "source": SOURCES.get(session.channel, SOURCES["call"]),
            **self._requester(session),
            "tags": unique([*new.tags, *mark_tags]),
        }
        if queue is not None and queue in self.settings.groups:
            body["group_id"] = self.settings.groups[queue]
        if mark_fields:
            body["custom_fields"] = mark_fields
        action = f"create the ticket for session {session.id}"
        ticket = self.http.call_json("POST", "/tickets", action, dict, json=body)
        return self._record(ticket, action, queue, is_write=True)

    def _requester(self, session: Session) -> dict[str, Any]:
        """The requester fields of a new ticket: the end user's contact, or the configured
        requester for an anonymous session."""
        if session.end_user is None or session.end_user.is_anonymous:
            email = self.settings.anonymous_requester_email
            if not email:
                raise PermanentCrmError(
                    f"session {session.id} is anonymous and Freshdesk needs a requester on every ticket: "
                    "set anonymous_requester_email in [crm.freshdesk]"
                )
            return {"email": email}
        key = end_user_key(session.end_user, self.settings.default_phone_region)
        handed = self.handoffs.take(("requester", key))
        if handed is MISSING:
            contact = self.requesters.find_or_create(session.end_user)
        elif handed is None:
            contact = self.requesters.create(session.end_user)
        else:
            contact = handed
        return {"requester_id": contact}

    # --- append_session / reopen --------------------------------------------------------------

    def append_session(self, record: CrmRecord, note: SessionNote) -> CrmRecord:
        return self._add(record, note, reopen=False)

    def reopen(self, record: CrmRecord, note: SessionNote) -> CrmRecord:
        return self._add(record, note, reopen=True)

    def _add(self, record: CrmRecord, note: SessionNote, reopen: bool) -> CrmRecord:
        """Status 2 and the missing tags in one PUT (skipped when there is nothing to change),
        then the private note."""
        ticket = self.handoffs.take(("ticket", record.id))
        if ticket is MISSING and note.tags:
            action = f"read ticket {record.id}"
            ticket = self.http.call_json("GET", f"/tickets/{record.id}", action, dict)
        known = ticket if ticket is not MISSING else None
        current = self._tags(known, record.id) if known is not None else []
        present = {tag.casefold() for tag in current}
        missing = [tag for tag in note.tags if tag.casefold() not in present]
        update: dict[str, Any] = {}
        if reopen:
            update["status"] = OPEN
        if missing:
            update["tags"] = current + missing
        if update:
            action = f"{'reopen' if reopen else 'tag'} ticket {record.id}"
            known = self.http.call_json("PUT", f"/tickets/{record.id}", action, dict, json=update)
        action = f"add a private note for session {note.session.id} to ticket {record.id}"
        self.http.call_json(
            "POST", f"/tickets/{record.id}/notes", action, dict, json={"body": html_text(note.text), "private": True}
        )
        if known is None:
            return record
        return self._record(known, f"update ticket {record.id}", record.leaf_queue_id, is_write=True)

    def _tags(self, ticket: Mapping[str, Any], record_id: str) -> list[str]:
        try:
            return ticket_tags(ticket)
        except UnexpectedTicket as error:
            raise malformed(f"read ticket {record_id}", str(error), is_write=False) from None

    # --- find_record_for_session --------------------------------------------------------------

    def find_record_for_session(self, session_id: str) -> CrmRecord | None:
        action = "list the newest tickets"
        params = {"order_by": "created_at", "order_type": "desc"}
        for page in self.http.pages("/tickets", action, params, max_pages=1):
            for ticket in page:
                if isinstance(ticket, Mapping) and self.marks.has_session(ticket, session_id):
                    return self._record(ticket, action, self.marks.queue_of(ticket))
        query = self.marks.session_query(session_id)
        if query is None:
            return None
        action = f"search tickets for session {session_id}"
        found = self.http.call_json("GET", "/search/tickets", action, dict, params={"query": query})
        results = found.get("results")
        if not isinstance(results, list):
            raise malformed(action, "no results list", is_write=False)
        for ticket in results:
            if isinstance(ticket, Mapping) and self.marks.has_session(ticket, session_id):
                return self._record(ticket, action, self.marks.queue_of(ticket))
        return None

    # --- shared -------------------------------------------------------------------------------

    def _record(self, ticket: Any, action: str, queue: str | None, is_write: bool = False) -> CrmRecord:
        try:
            return ticket_record(ticket, self.settings.portal_url, queue)
        except UnexpectedTicket as error:
            raise malformed(action, str(error), is_write) from None


def _requester_id(ticket: Mapping[str, Any]) -> int | None:
    value = ticket.get("requester_id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None

