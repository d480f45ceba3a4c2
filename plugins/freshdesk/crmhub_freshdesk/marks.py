"""Where crmhub marks the tickets it creates: the leaf queue and the session id.

``find_open_record`` only considers tickets carrying the leaf-queue mark (hand-made tickets are
not candidates) and ``find_record_for_session`` looks a ticket up by the session mark.

By default both marks are tags, ``crmhub-queue-<leaf queue id>`` and ``crmhub-session-<session
id>``: tags need no admin set-up, come back in every ticket listing, and the filter API can search
them (``tag:'...'``). Freshdesk limits a tag to 32 characters and forbids commas, so an id that
would not fit, or holds characters outside ``A-Z a-z 0-9 . _ : @ -``, is written as a digest
instead: ``crmhub-q-`` / ``crmhub-s-`` and the first 23 hex digits of its SHA-256.

With ``queue_field`` / ``session_field`` set (API names of custom text fields, ``cf_...``), the
mark is written to that field instead of a tag, unabridged.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

MAX_TAG_LENGTH = 32
QUEUE_PREFIX = "crmhub-queue-"
SESSION_PREFIX = "crmhub-session-"
QUEUE_DIGEST_PREFIX = "crmhub-q-"
SESSION_DIGEST_PREFIX = "crmhub-s-"
_READABLE = re.compile(r"^[A-Za-z0-9._:@-]+$")


def _mark_tag(prefix: str, digest_prefix: str, value: str) -> str:
    tag = prefix + value
    if len(tag) <= MAX_TAG_LENGTH and _READABLE.match(value):
        return tag
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()
    return digest_prefix + digest[: MAX_TAG_LENGTH - len(digest_prefix)]


def queue_tag(queue_id: str) -> str:
    """The tag that marks a ticket as created from leaf queue ``queue_id``."""
    return _mark_tag(QUEUE_PREFIX, QUEUE_DIGEST_PREFIX, queue_id)


def session_tag(session_id: str) -> str:
    """The tag that marks a ticket as created for session ``session_id``."""
    return _mark_tag(SESSION_PREFIX, SESSION_DIGEST_PREFIX, session_id)


def _has_tag(ticket: Mapping[str, Any], tag: str) -> bool:
    tags = ticket.get("tags")
    wanted = tag.casefold()  # Freshdesk matches tags without regard to case
    return isinstance(tags, list) and any(isinstance(t, str) and t.casefold() == wanted for t in tags)


def _field_value(ticket: Mapping[str, Any], name: str) -> Any:
    custom = ticket.get("custom_fields")
    return custom.get(name) if isinstance(custom, Mapping) else None


class Marks:
    """The marks as configured: tags by default, custom fields where settings name them."""

    def __init__(self, queue_field: str | None = None, session_field: str | None = None):
        self.queue_field = queue_field
        self.session_field = session_field

    def for_new_ticket(self, queue_id: str | None, session_id: str) -> tuple[list[str], dict[str, str]]:
        """The tags and custom-field values that mark a new ticket."""
        tags: list[str] = []
        custom: dict[str, str] = {}
        if queue_id is not None:
            if self.queue_field:
                custom[self.queue_field] = queue_id
            else:
                tags.append(queue_tag(queue_id))
        if self.session_field:
            custom[self.session_field] = session_id
        else:
            tags.append(session_tag(session_id))
        return tags, custom

    def in_queue(self, ticket: Mapping[str, Any], queue_id: str) -> bool:
        if self.queue_field:
            return _field_value(ticket, self.queue_field) == queue_id
        return _has_tag(ticket, queue_tag(queue_id))

    def queue_of(self, ticket: Mapping[str, Any]) -> str | None:
        """The leaf queue id a ticket is marked with, when the mark can be read back (a digest
        tag cannot)."""
        if self.queue_field:
            value = _field_value(ticket, self.queue_field)
            return value if isinstance(value, str) and value else None
        for tag in ticket.get("tags") or []:
            if isinstance(tag, str) and tag.casefold().startswith(QUEUE_PREFIX):
                return tag[len(QUEUE_PREFIX):] or None
        return None

    def has_session(self, ticket: Mapping[str, Any], session_id: str) -> bool:
        if self.session_field:
            return _field_value(ticket, self.session_field) == session_id
        return _has_tag(ticket, session_tag(session_id))

    def session_query(self, session_id: str) -> str | None:
        """The filter-API query (``/api/v2/search/tickets?query=...``) for the session mark; None
        when the id cannot be written in Freshdesk's query syntax (a quote in a custom-field value)."""
        if not self.session_field:
            return f"\"tag:'{session_tag(session_id)}'\""
        if "'" in session_id or '"' in session_id:
            return None
        # The filter API names custom fields without their cf_ prefix.
        return f"\"{self.session_field[len('cf_'):]}:'{session_id}'\""
