"""The ticket operations behind the hooks, each with the fewest Zendesk calls it can make.

* create: ``POST /tickets.json`` with ``Idempotency-Key`` (a retried create returns the first
  ticket instead of making a second).
* candidates: ``GET /users/{id}/tickets/requested.json?include=metric_sets`` — the requester's
  tickets straight from the database (the search index lags minutes behind), newest first, with
  each ticket's metrics sideloaded so that ``solved_at`` (the close time rule 2 measures from)
  costs no extra call. Only when Zendesk has no metric for a solved ticket that could be inside
  the window is the ticket's audit log read for the audit that set it solved.
* append / reopen: one ``PUT /tickets/{id}.json`` carrying the private comment, the merged tag
  list and (reopen) ``status: open``. A single-ticket update replaces the tag list, so the tags are
  the ticket's current ones plus the new ones, sent with ``safe_update`` + ``updated_stamp``: if
  the ticket changed since it was read, Zendesk answers 409 instead of dropping a tag.
* a closed ticket cannot be reopened: a follow-up ticket (``via_followup_source_id``) is created
  instead, with the old ticket's subject, requester, group and marks.
* by session: ``GET /tickets.json?external_id=SESSION`` (no search index).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crmhub.core.errors import CrmError, UnknownOutcomeError
from crmhub.core.models import CrmRecord, NewRecord, RecordQuery, SessionNote
from crmhub.core.rules import pick_record
from crmhub.core.tags import unique
from crmhub_zendesk.client import ZendeskClient
from crmhub_zendesk.http_errors import ZendeskNotFound
from crmhub_zendesk.records import (
    custom_field, is_open, many, marks_queue, one, parse_time, queue_tag, solved_times, status_of, to_record,
)
from crmhub_zendesk.requesters import find_or_create_requester, find_requester

PAGE_SIZE = "100"


def _ticket_body(
    client: ZendeskClient, *, subject: str, text: str, tags: list[str], requester_id: Any,
    session_id: str, queue_id: str | None, group_id: int | None = None,
) -> dict[str, Any]:
    settings = client.settings
    ticket: dict[str, Any] = {
        "subject": subject,
        "comment": {"body": text, "public": False},
        "external_id": session_id,
        "tags": unique([*tags, *([queue_tag(queue_id)] if queue_id else [])]),
    }
    if requester_id is not None:
        ticket["requester_id"] = requester_id
    group = group_id if group_id is not None else settings.queue_groups.get(queue_id or "")
    if group is not None:
        ticket["group_id"] = group
    fields = []
    if settings.session_id_field is not None:
        fields.append({"id": settings.session_id_field, "value": session_id})
    if settings.leaf_queue_field is not None and queue_id:
        fields.append({"id": settings.leaf_queue_field, "value": queue_id})
    if fields:
        ticket["custom_fields"] = fields
    return ticket


def create_ticket(client: ZendeskClient, record: NewRecord) -> CrmRecord:
    session = record.session
    queue_id = session.leaf_queue.id if session.leaf_queue else None
    body = _ticket_body(
        client, subject=record.title, text=record.description, tags=list(record.tags),
        requester_id=find_or_create_requester(client, session.end_user), session_id=session.id, queue_id=queue_id,
    )
    answer = client.post("/tickets.json", {"ticket": body}, "ticket create", {"Idempotency-Key": record.idempotency_key})
    created = one(answer, "ticket", "ticket create")
    client.tickets.put(created)
    return to_record(created, client.agent_url(created["id"]), leaf_queue_id=queue_id)


# --- finding the record a session joins -------------------------------------------------------


def _fetch(client: ZendeskClient, ticket_id: str, include_metrics: bool = False) -> tuple[dict[str, Any], datetime | None]:
    params = {"include": "metric_sets"} if include_metrics else None
    answer = client.get(f"/tickets/{ticket_id}.json", params, action=f"ticket {ticket_id} read")
    ticket = one(answer, "ticket", f"ticket {ticket_id} read")
    client.tickets.put(ticket)
    return ticket, solved_times(answer).get(str(ticket["id"]))


def _solved_at_from_audits(client: ZendeskClient, ticket_id: str) -> datetime | None:
    """When the ticket was last set solved, from its audit log (the fallback when Zendesk has no
    metric for it yet)."""
    url, params = f"/tickets/{ticket_id}/audits.json", None
    latest: datetime | None = None
    for _ in range(client.settings.max_ticket_pages):
        answer = client.get(url, params, action=f"ticket {ticket_id} audits")
        for audit in many(answer, "audits", f"ticket {ticket_id} audits"):
            if any(
                isinstance(e, dict) and e.get("type") == "Change" and e.get("field_name") == "status"
                and e.get("value") == "solved" for e in audit.get("events") or []
            ):
                when = parse_time(audit.get("created_at"), "an audit created_at")
                if when is not None and (latest is None or when > latest):
                    latest = when
        if not answer.get("next_page"):
            break
        url = answer["next_page"]
    return latest


def _requested_tickets(client: ZendeskClient, user_id: int, queue_id: str) -> tuple[list[dict[str, Any]], dict[str, datetime]]:
    """The requester's tickets marked with this leaf queue, newest first, and their solved times.

    Paging stops at the first page holding an open candidate (the newest open one is then known)
    or after ``max_ticket_pages`` pages.
    """
    url = f"/users/{user_id}/tickets/requested.json"
    params: dict[str, str] | None = {
        "include": "metric_sets", "sort_by": "created_at", "sort_order": "desc", "per_page": PAGE_SIZE,
    }
    candidates: list[dict[str, Any]] = []
    solved: dict[str, datetime] = {}
    for _ in range(client.settings.max_ticket_pages):
        answer = client.get(url, params, action="requester's tickets")
        solved.update(solved_times(answer))
        page = [t for t in many(answer, "tickets", "requester's tickets")
                if marks_queue(t, queue_id, client.settings.leaf_queue_field)]
        for ticket in page:
            client.tickets.put(ticket)
        candidates += page
        if any(is_open(t) for t in page) or not answer.get("next_page"):
            break
        url, params = answer["next_page"], None
    return candidates, solved


def find_candidate(client: ZendeskClient, query: RecordQuery) -> CrmRecord | None:
    queue_id = query.leaf_queue.id
    user_id = None
    if query.hint:
        hinted, user_id = _read_hint(client, query.hint, queue_id)
        if hinted is not None:
            return hinted
    if user_id is None:
        user_id = find_requester(client, query.end_user)
    if user_id is None:
        return None
    tickets, solved = _requested_tickets(client, user_id, queue_id)
    records = []
    for ticket in tickets:
        ticket_id = str(ticket["id"])
        closed_at = solved.get(ticket_id)
        if closed_at is None and not is_open(ticket) and query.closed_since is not None:
            updated = parse_time(ticket.get("updated_at"), "an updated_at")
            if updated is None or updated >= query.closed_since:  # solved_at <= updated_at: else out of the window
                closed_at = _solved_at_from_audits(client, ticket_id)
        records.append(to_record(ticket, client.agent_url(ticket_id), closed_at=closed_at, leaf_queue_id=queue_id))
    return pick_record(records, query.closed_since)


def _read_hint(client: ZendeskClient, hint: str, queue_id: str) -> tuple[CrmRecord | None, int | None]:
    """The remembered ticket if it is still open and still marked with this queue (the newest
    ticket crmhub made for this end user and queue, so nothing newer can be a candidate), and
    its requester: crmhub filed it under this end user, so when it is not the answer, the
    requester's tickets are listed without looking the end user up again."""
    try:
        ticket, _ = _fetch(client, hint)
    except ZendeskNotFound:
        return None, None
    requester = ticket.get("requester_id")
    requester_id = int(requester) if isinstance(requester, int) and not isinstance(requester, bool) else None
    if is_open(ticket) and marks_queue(ticket, queue_id, client.settings.leaf_queue_field):
        return to_record(ticket, client.agent_url(ticket["id"]), leaf_queue_id=queue_id), requester_id
    return None, requester_id


# --- adding a session to a found record -------------------------------------------------------


def add_session(client: ZendeskClient, record: CrmRecord, note: SessionNote, reopen: bool) -> CrmRecord:
    """One ticket update: private comment, tags added to the current ones, and ``status: open``
    when reopening. A closed ticket gets a follow-up ticket instead."""
    ticket = client.tickets.get(record.id) or _fetch(client, record.id)[0]
    if reopen and status_of(ticket) == "closed":
        return _follow_up(client, ticket, note, record.leaf_queue_id)
    current = [str(tag) for tag in ticket.get("tags") or []]
    merged = unique([*current, *note.tags])
    update: dict[str, Any] = {"comment": {"body": note.text, "public": False}}
    if merged != current:
        update["tags"] = merged
    if reopen:
        update["status"] = "open"
    if ticket.get("updated_at"):
        update.update(safe_update=True, updated_stamp=ticket["updated_at"])
    action = f"ticket {record.id} {'reopen' if reopen else 'update'}"
    client.updates.reserve(record.id)
    try:
        answer = client.put(f"/tickets/{record.id}.json", {"ticket": update}, action)
    except CrmError as error:
        client.tickets.forget(record.id)
        if not isinstance(error, UnknownOutcomeError):
            client.updates.release(record.id)  # refused, so not applied: it does not count
        raise
    updated = one(answer, "ticket", action)
    client.tickets.put(updated)
    return to_record(updated, client.agent_url(updated["id"]), leaf_queue_id=record.leaf_queue_id)


def _follow_up(client: ZendeskClient, old: dict[str, Any], note: SessionNote, queue_id: str | None) -> CrmRecord:
    session = note.session
    queue_id = queue_id or (session.leaf_queue.id if session.leaf_queue else None)
    body = _ticket_body(
        client, subject=str(old.get("subject") or ""), text=note.text,
        tags=[*(str(t) for t in old.get("tags") or []), *note.tags], requester_id=old.get("requester_id"),
        session_id=session.id, queue_id=queue_id, group_id=old.get("group_id"),
    )
    body["via_followup_source_id"] = old["id"]
    answer = client.post("/tickets.json", {"ticket": body}, f"follow-up of ticket {old['id']}", {"Idempotency-Key": note.idempotency_key})
    created = one(answer, "ticket", f"follow-up of ticket {old['id']}")
    client.tickets.put(created)
    return to_record(created, client.agent_url(created["id"]), leaf_queue_id=queue_id, follow_up_of=str(old["id"]))


# --- reconciling an unknown outcome -----------------------------------------------------------


def ticket_for_session(client: ZendeskClient, session_id: str) -> CrmRecord | None:
    """The ticket crmhub created for a session (its ``external_id``); the oldest if several."""
    answer = client.get("/tickets.json", {"external_id": session_id, "include": "metric_sets"}, action="ticket lookup by session")
    tickets = many(answer, "tickets", "ticket lookup by session")
    if not tickets:
        return None
    ticket = min(tickets, key=lambda t: int(t["id"]))
    client.tickets.put(ticket)
    ticket_id = str(ticket["id"])
    queue_id = custom_field(ticket, client.settings.leaf_queue_field)
    return to_record(
        ticket, client.agent_url(ticket_id), closed_at=solved_times(answer).get(ticket_id),
        leaf_queue_id=str(queue_id) if queue_id else None,
    )
