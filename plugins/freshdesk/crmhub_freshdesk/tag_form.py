"""Tags in Freshdesk's form: the name unchanged (SPEC section 5), within what Freshdesk accepts.

Freshdesk refuses a ticket whose tags are longer than 32 characters or contain a comma, so commas
become spaces and a longer name is cut after its last whole word within 32 characters (``Messaging
Outbound (SMS Direct via API)``, the one current session-type name that does not fit, becomes
``Messaging Outbound (SMS Direct``). An integrator who wants another form pins it with
``[session_types."NAME"] tags = { freshdesk = "..." }``.
"""

from __future__ import annotations

from crmhub.core import tags as tag_rules

MAX_TAG_LENGTH = 32


def freshdesk_tag(name: str) -> str:
    tag = tag_rules.freshdesk_tag(name).replace(",", " ")
    if len(tag) <= MAX_TAG_LENGTH:
        return tag
    cut = tag[: MAX_TAG_LENGTH + 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut.strip() else cut[:MAX_TAG_LENGTH]).strip()
