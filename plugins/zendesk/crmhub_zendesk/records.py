"""Reading Zendesk payloads: tickets → :class:`CrmRecord`, and crmhub's marks on a ticket.

Marks (what makes a ticket crmhub's, and findable again):

* **session id** → the ticket's ``external_id`` (and the ``session_id_field`` custom field when
  configured). ``GET /tickets.json?external_id=`` finds it without the search index.
* **leaf queue** → the tag ``crmhub_queue_<queue id in Zendesk tag form>`` (``crmhub_queue_q_42``),
  and the ``leaf_queue_field`` custom field when configured. Only tickets with one of these are
  candidates for appending; tickets people made by hand are not.

Every reader raises :class:`PermanentCrmError` when a payload is not the shape Zendesk documents,
rather than guessing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from crmhub.core.errors import PermanentCrmError
from crmhub.core.models import CrmRecord
from crmhub.core.tags import zendesk_tag

CRM_KEY = "zendesk"
OPEN_STATUSES = frozenset({"new", "open", "pending", "hold"})
CLOSED_STATUSES = frozenset({"solved", "closed"})
QUEUE_TAG_PREFIX = "crmhub_queue_"


def queue_tag(queue_id: str) -> str:
    """The tag that marks a ticket as created by crmhub from this leaf queue."""
    return QUEUE_TAG_PREFIX + zendesk_tag(queue_id)


def parse_time(value: Any, what: str) -> datetime | None:
    """A Zendesk timestamp (``2026-11-24T09:00:00Z``); None when absent."""
    if value in (None, ""):
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise PermanentCrmError(f"Zendesk sent {what} {value!r}, which is not a timestamp") from None


def one(body: Mapping[str, Any], key: str, what: str) -> dict[str, Any]:
    """``body[key]`` as an object with an ``id`` (``{"ticket": {...}}``, ``{"user": {...}}``)."""
    item = body.get(key)
    if not isinstance(item, dict) or item.get("id") in (None, ""):
        raise PermanentCrmError(f"Zendesk's answer to {what} has no {key} with an id")
    return item


def many(body: Mapping[str, Any], key: str, what: str) -> list[dict[str, Any]]:
    """``body[key]`` as a list of objects with ids (``{"tickets": [...]}``)."""
    items = body.get(key)
    if not isinstance(items, list) or not all(isinstance(i, dict) and i.get("id") is not None for i in items):
        raise PermanentCrmError(f"Zendesk's answer to {what} has no list of {key}")
    return items


def solved_times(body: Mapping[str, Any]) -> dict[str, datetime]:
    """Ticket id → ``solved_at`` from a ``metric_sets`` sideload (``include=metric_sets``)."""
    found: dict[str, datetime] = {}
    for metric in body.get("metric_sets") or []:
        if isinstance(metric, dict) and metric.get("ticket_id") is not None:
            solved = parse_time(metric.get("solved_at"), "a solved_at")
            if solved is not None:
                found[str(metric["ticket_id"])] = solved
    return found


def status_of(ticket: Mapping[str, Any]) -> str:
    status = ticket.get("status")
    if status not in OPEN_STATUSES | CLOSED_STATUSES:
        raise PermanentCrmError(f"Zendesk ticket {ticket.get('id')} has an unknown status {status!r}")
    return str(status)


def is_open(ticket: Mapping[str, Any]) -> bool:
    return status_of(ticket) in OPEN_STATUSES


def custom_field(ticket: Mapping[str, Any], field_id: int | None) -> Any:
    if field_id is None:
        return None
    for item in ticket.get("custom_fields") or []:
        if isinstance(item, dict) and item.get("id") == field_id:
            return item.get("value")
    return None


def marks_queue(ticket: Mapping[str, Any], queue_id: str, queue_field: int | None) -> bool:
    """Whether crmhub made this ticket from this leaf queue (tag, or the configured field)."""
    if queue_tag(queue_id) in (ticket.get("tags") or []):
        return True
    return queue_field is not None and custom_field(ticket, queue_field) == queue_id


def to_record(
    ticket: Mapping[str, Any], agent_url: str, *, closed_at: datetime | None = None,
    leaf_queue_id: str | None = None, follow_up_of: str | None = None,
) -> CrmRecord:
    """The ticket as crmhub sees it: status normalised, Zendesk's own status kept."""
    status = status_of(ticket)
    return CrmRecord(
        crm=CRM_KEY,
        id=str(ticket["id"]),
        status="open" if status in OPEN_STATUSES else "closed",
        crm_status=status,
        url=agent_url,
        closed_at=closed_at if status in CLOSED_STATUSES else None,
        created_at=parse_time(ticket.get("created_at"), "a created_at"),
        leaf_queue_id=leaf_queue_id,
        follow_up_of=follow_up_of,
    )
