"""marshmallow fields that keep JSON and TOML types apart (``1`` is not ``true``, nor the reverse)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from marshmallow import fields


class StrictBoolean(fields.Boolean):
    """Only ``true`` and ``false``: marshmallow's Boolean would take ``1``, ``"yes"`` or ``1.0``."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class StrictInteger(fields.Integer):
    """A whole number that is not a boolean (``True`` is an ``int`` in Python)."""

    def __init__(self, **kwargs: Any):
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)


def parse_rfc3339(value: Any) -> datetime | None:
    """The date-time an RFC 3339 string names (section 5.6: ``T`` and ``Z`` in either case), or
    None if ``value`` is not one.

    ``datetime.fromisoformat`` alone takes ISO 8601 forms that RFC 3339 does not (week dates,
    basic format, minutes without seconds, no offset, a comma before the fraction); the pattern
    keeps them out, as the host contract says. Digits of a fraction beyond microseconds are dropped.
    """
    if not isinstance(value, str) or not _RFC3339.match(value):
        return None
    try:
        return datetime.fromisoformat(value.upper())
    except ValueError:  # matches the pattern but names no real time (month 13, hour 25)
        return None


class Rfc3339DateTime(fields.AwareDateTime):
    """A field for :func:`parse_rfc3339`: an RFC 3339 date-time with an offset."""

    default_error_messages = {
        "rfc3339": "Not an RFC 3339 date-time with an offset (like 2026-11-25T09:30:05Z).",
    }

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime:
        parsed = parse_rfc3339(value)
        if parsed is None:
            raise self.make_error("rfc3339")
        return parsed
