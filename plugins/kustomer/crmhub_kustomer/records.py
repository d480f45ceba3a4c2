"""Kustomer conversations as crmhub records.

A conversation's ``status`` is ``open``, ``snoozed`` or ``done``: the first two are open for
crmhub, ``done`` is closed, and the close time the reopen window is measured from is
``lastDone.createdAt`` (when it was last marked done). Kustomer answers JSON:API style:
``{"data": {"type": "conversation", "id": ..., "attributes": {...}}}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from crmhub.core.errors import PermanentCrmError
from crmhub.core.models import CrmRecord

CRM_KEY = "kustomer"
OPEN_STATUSES = frozenset({"open", "snoozed"})
CLOSED_STATUSES = frozenset({"done"})
SESSION_EXTERNAL_ID_PREFIX = "crmhub-"


def session_external_id(session_id: str) -> str:
    """The conversation ``externalId`` that marks crmhub's session (``crmhub-call-1001``).

    The prefix keeps crmhub's ids apart from external ids other integrations write on
    conversations (a contact-center platform's own Kustomer app may use the bare call id).
    """
    return SESSION_EXTERNAL_ID_PREFIX + session_id


def parse_time(value: Any, what: str) -> datetime:
    """An ISO 8601 time from Kustomer (``2026-11-25T09:30:06.120Z``), always timezone-aware."""
    if not isinstance(value, str):
        raise PermanentCrmError(f"Kustomer sent {what} that is not a timestamp: {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise PermanentCrmError(f"Kustomer sent {what} that is not a timestamp: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def resource(body: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    """The ``data`` object of a single-resource answer, checked to have an id and attributes."""
    data = body.get("data")
    if not isinstance(data, Mapping) or not data.get("id") or not isinstance(data.get("attributes"), Mapping):
        raise PermanentCrmError(f"Kustomer's answer has no {kind} in it (expected data.id and data.attributes)")
    return data


def resources(body: Mapping[str, Any], kind: str) -> list[Mapping[str, Any]]:
    """The ``data`` list of a paged answer."""
    data = body.get("data")
    if not isinstance(data, list) or not all(isinstance(item, Mapping) for item in data):
        raise PermanentCrmError(f"Kustomer's answer has no list of {kind}s in it (expected a data list)")
    return data


def leaf_queue_mark(conversation: Mapping[str, Any], attribute: str) -> str | None:
    """The leaf-queue id crmhub wrote in the conversation's custom attribute, if any."""
    custom = conversation.get("attributes", {}).get("custom")
    value = custom.get(attribute) if isinstance(custom, Mapping) else None
    return value if isinstance(value, str) and value else None


def conversation_tag_ids(conversation: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The tag ids on the conversation (its ``tags`` attribute), or None when the answer has no
    readable list (then nothing is assumed about which tags are there)."""
    attributes = conversation.get("attributes")
    tags = attributes.get("tags") if isinstance(attributes, Mapping) else None
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        return None
    return tuple(tags)


def conversation_customer_id(conversation: Mapping[str, Any]) -> str | None:
    """The id of the customer the conversation belongs to (``relationships.customer.data.id``)."""
    relationships = conversation.get("relationships")
    customer = relationships.get("customer") if isinstance(relationships, Mapping) else None
    data = customer.get("data") if isinstance(customer, Mapping) else None
    customer_id = data.get("id") if isinstance(data, Mapping) else None
    return customer_id if isinstance(customer_id, str) and customer_id else None


def conversation_record(conversation: Mapping[str, Any], attribute: str) -> CrmRecord:
    """A conversation (one ``data`` item) as a :class:`CrmRecord`."""
    conversation_id = conversation.get("id")
    attributes = conversation.get("attributes")
    if not isinstance(conversation_id, str) or not conversation_id or not isinstance(attributes, Mapping):
        raise PermanentCrmError("Kustomer sent a conversation without an id or attributes")
    status = attributes.get("status")
    if status in OPEN_STATUSES:
        normalised = "open"
    elif status in CLOSED_STATUSES:
        normalised = "closed"
    else:
        raise PermanentCrmError(
            f"Kustomer sent conversation {conversation_id} with status {status!r}; expected open, snoozed or done"
        )
    created = attributes.get("createdAt")
    return CrmRecord(
        crm=CRM_KEY,
        id=conversation_id,
        status=normalised,
        crm_status=status,
        url=None,
        closed_at=_closed_at(attributes, conversation_id) if normalised == "closed" else None,
        created_at=parse_time(created, f"conversation {conversation_id} createdAt") if created is not None else None,
        leaf_queue_id=leaf_queue_mark(conversation, attribute),
    )


def _closed_at(attributes: Mapping[str, Any], conversation_id: str) -> datetime | None:
    """``lastDone.createdAt``. A done conversation without it has no known close time, so it never
    counts as closed within a window (crmhub then creates a new record rather than guess)."""
    last_done = attributes.get("lastDone")
    if not isinstance(last_done, Mapping) or last_done.get("createdAt") is None:
        return None
    return parse_time(last_done["createdAt"], f"conversation {conversation_id} lastDone.createdAt")
