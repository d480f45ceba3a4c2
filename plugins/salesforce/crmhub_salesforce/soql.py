"""SOQL text built safely: quoted literals for every value, API names checked by the settings.

Values (phone numbers, emails, ids, session ids) come from the host and are never trusted: each is
written as a quoted SOQL string literal with the escape sequences SOQL defines.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone

_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}


def literal(value: str) -> str:
    """``O'Brien`` → ``'O\\'Brien'``."""
    return "'" + "".join(_ESCAPES.get(ch, ch) for ch in value) + "'"


def literal_list(values: Iterable[str]) -> str:
    """``('a', 'b')`` for ``IN``."""
    return "(" + ", ".join(literal(v) for v in values) + ")"


def datetime_literal(when: datetime) -> str:
    """A dateTime literal in UTC, unquoted: ``2026-11-22T09:30:05Z``."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def date_literal(when: datetime) -> str:
    """A date literal (the UTC day), unquoted: ``2026-11-22``."""
    return when.astimezone(timezone.utc).date().isoformat()


def select(fields: Iterable[str], from_object: str, where: str, order_by: str | None = None, limit: int | None = None) -> str:
    text = f"SELECT {', '.join(fields)} FROM {from_object} WHERE {where}"
    if order_by:
        text += f" ORDER BY {order_by}"
    if limit is not None:
        text += f" LIMIT {limit}"
    return text
