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


class Rfc3339DateTime(fields.AwareDateTime):
    """An RFC 3339 date-time with an offset (section 5.6: ``T`` and ``Z`` in either case).

    ``datetime.fromisoformat`` alone takes ISO 8601 forms that RFC 3339 does not (week dates,
    basic format, minutes without seconds, no offset); they are rejected here, as the host
    contract says.
    """

    default_error_messages = {
        "rfc3339": "Not an RFC 3339 date-time with an offset (like 2026-11-25T09:30:05Z).",
    }

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime:
        if not isinstance(value, str) or not _RFC3339.match(value):
            raise self.make_error("rfc3339")
        return super()._deserialize(value.upper(), attr, data, **kwargs)
