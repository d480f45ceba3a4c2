"""Salesforce record JSON → :class:`~crmhub.core.models.CrmRecord`, and text fitted to field sizes.

A record is open while its closed flag (``IsClosed``) is false; its close time is ``ClosedDate``
(a dateTime) on a Case, or the ``CloseDate`` day (read as midnight UTC) on an Opportunity. Shapes
are checked: a record missing what crmhub needs is a :class:`PermanentCrmError`, never a guess.
"""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from typing import Any

from crmhub.core.errors import PermanentCrmError
from crmhub.core.models import CrmRecord
from crmhub_salesforce.config import RecordFields

CRM_KEY = "salesforce"
TRUNCATION_MARK = "\n[truncated by crmhub]"


def parse_datetime(value: Any, field_name: str) -> datetime | None:
    """Salesforce dateTime (``2026-11-24T10:00:00.000+0000``) → aware datetime; None for null."""
    if value is None:
        return None
    if isinstance(value, str):
        for pattern in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
            try:
                return datetime.strptime(value, pattern)
            except ValueError:
                continue
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is not None:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    raise PermanentCrmError(f"Salesforce field {field_name} is not a dateTime: {str(value)[:40]!r}")


def parse_date(value: Any, field_name: str) -> datetime | None:
    """Salesforce date (``2026-11-24``) → midnight UTC of that day; None for null."""
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except (TypeError, ValueError):
        raise PermanentCrmError(f"Salesforce field {field_name} is not a date: {str(value)[:40]!r}") from None
    return datetime.combine(day, time(0), tzinfo=timezone.utc)


def record_url(instance_url: str, record_object: str, record_id: str) -> str:
    """The record's page in Lightning Experience."""
    return f"{instance_url}/lightning/r/{record_object}/{record_id}/view"


def parse_record(payload: Any, fields: RecordFields, instance_url: str) -> CrmRecord:
    """One record of a query result (selected with :meth:`RecordFields.select_list`)."""
    if not isinstance(payload, dict):
        raise PermanentCrmError(f"a {fields.object} in Salesforce's answer is not a JSON object")
    record_id = payload.get("Id")
    closed = payload.get(fields.closed_field)
    status = payload.get(fields.status_field)
    if not isinstance(record_id, str) or not record_id:
        raise PermanentCrmError(f"a {fields.object} in Salesforce's answer has no Id")
    if not isinstance(closed, bool):
        raise PermanentCrmError(f"{fields.object} {record_id} has no boolean {fields.closed_field}")
    if status is not None and not isinstance(status, str):
        raise PermanentCrmError(f"{fields.object} {record_id} has a malformed {fields.status_field}")
    parse_close = parse_date if fields.closed_at_type == "date" else parse_datetime
    closed_at = parse_close(payload.get(fields.closed_at_field), fields.closed_at_field) if closed else None
    leaf_queue = payload.get(fields.leaf_queue_field)
    return CrmRecord(
        crm=CRM_KEY,
        id=record_id,
        status="closed" if closed else "open",
        crm_status=status or "",
        url=record_url(instance_url, fields.object, record_id),
        closed_at=closed_at,
        created_at=parse_datetime(payload.get("CreatedDate"), "CreatedDate"),
        leaf_queue_id=leaf_queue if isinstance(leaf_queue, str) else None,
    )


def fit_bytes(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` of UTF-8 (whole characters), marked when cut.

    CaseComment bodies are limited in bytes (4,000): a longer note is truncated, never split into
    several comments, so that one session always adds exactly one comment.
    """
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    room = max_bytes - len(TRUNCATION_MARK.encode("utf-8"))
    return encoded[:room].decode("utf-8", errors="ignore") + TRUNCATION_MARK


def fit_chars(text: str, max_chars: int) -> str:
    """``text`` cut to ``max_chars`` characters (a Subject's length limit)."""
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"
