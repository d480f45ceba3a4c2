"""Freshdesk ticket JSON → :class:`~crmhub.core.models.CrmRecord` (SPEC section 6).

Statuses: 2 open and 3 pending are open, 4 resolved and 5 closed are closed, and every custom
status (an id above 5) counts as open. The close time the reopen window is measured from is
``stats.closed_at``, else ``stats.resolved_at`` (present when the ticket was read with
``include=stats``). Unknown fields are ignored, so older payloads with v1-era names still parse.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from crmhub.core.models import CrmRecord

CRM_KEY = "freshdesk"
OPEN = 2
PENDING = 3
RESOLVED = 4
CLOSED = 5
CLOSED_STATUSES = frozenset({RESOLVED, CLOSED})
STATUS_NAMES = {OPEN: "open", PENDING: "pending", RESOLVED: "resolved", CLOSED: "closed"}


class UnexpectedTicket(ValueError):
    """A payload that should be a ticket is not shaped like one."""


def status_name(status: int) -> str:
    """The ``crm_status`` shown in outcomes: the default status names, or the custom status id."""
    return STATUS_NAMES.get(status, str(status))


def parse_time(value: Any, what: str) -> datetime | None:
    """An ISO 8601 time from Freshdesk (``2016-05-18T04:36:04Z``), as an aware datetime."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise UnexpectedTicket(f"{what} is not a time string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UnexpectedTicket(f"{what} is not an ISO 8601 time: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def ticket_id(ticket: Any) -> str:
    """The ticket's id, as crmhub carries record ids (a string)."""
    if not isinstance(ticket, Mapping):
        raise UnexpectedTicket("a ticket is not a JSON object")
    value = ticket.get("id")
    if not isinstance(value, int) or isinstance(value, bool):
        raise UnexpectedTicket("a ticket has no numeric id")
    return str(value)


def close_time(ticket: Mapping[str, Any]) -> datetime | None:
    """``stats.closed_at``, else ``stats.resolved_at`` (None when neither was sent)."""
    stats = ticket.get("stats")
    if not isinstance(stats, Mapping):
        return None
    return parse_time(stats.get("closed_at"), "stats.closed_at") or parse_time(
        stats.get("resolved_at"), "stats.resolved_at"
    )


def ticket_record(ticket: Any, portal_url: str, leaf_queue_id: str | None = None) -> CrmRecord:
    """The record for a ticket payload; :class:`UnexpectedTicket` if it is not one."""
    record_id = ticket_id(ticket)
    status = ticket.get("status")
    if not isinstance(status, int) or isinstance(status, bool):
        raise UnexpectedTicket(f"ticket {record_id} has no numeric status")
    closed = status in CLOSED_STATUSES
    return CrmRecord(
        crm=CRM_KEY,
        id=record_id,
        status="closed" if closed else "open",
        crm_status=status_name(status),
        url=f"{portal_url}/a/tickets/{record_id}",
        closed_at=close_time(ticket) if closed else None,
        created_at=parse_time(ticket.get("created_at"), f"ticket {record_id} created_at"),
        leaf_queue_id=leaf_queue_id,
    )


def ticket_tags(ticket: Mapping[str, Any]) -> list[str]:
    """The ticket's tags (an empty list when the payload has none)."""
    tags = ticket.get("tags")
    if tags is None:
        return []
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise UnexpectedTicket(f"ticket {ticket.get('id')} has tags that are not a list of strings")
    return list(tags)
