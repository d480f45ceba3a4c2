"""Tag forms per CRM (SPEC section 5), as small pure functions plugins call from ``format_tags``.

Tags are made from a session type's display name: ``Voice Inbound (IVR)`` becomes
``voice_inbound_ivr`` on Zendesk, ``Voice Inbound - IVR`` on Kustomer and stays as it is on
Freshdesk. The platform tag follows the same rule (``ujet`` on Zendesk).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_NOT_TAG_CHARACTER = re.compile(r"[^a-z0-9]+")
_TRAILING_PARENTHESIS = re.compile(r"\s*\(([^()]*)\)\s*$")


def zendesk_tag(name: str) -> str:
    """Lower case; every run of other characters becomes one ``_``; trimmed of ``_``."""
    return _NOT_TAG_CHARACTER.sub("_", name.lower()).strip("_")


def kustomer_tag(name: str) -> str:
    """A trailing parenthesis becomes `` - `` and its content; the rest is unchanged."""
    return _TRAILING_PARENTHESIS.sub(lambda m: f" - {m.group(1).strip()}", name.strip()).strip()


def freshdesk_tag(name: str) -> str:
    """Freshdesk keeps the display name as it is (trimmed)."""
    return name.strip()


def unique(tags: Iterable[str]) -> list[str]:
    """Drop empty and repeated tags, keeping the first occurrence's position."""
    seen: dict[str, None] = {}
    for tag in tags:
        if tag:
            seen.setdefault(tag, None)
    return list(seen)
