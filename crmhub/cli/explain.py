"""The effective record-creation rules said in plain words, for ``crmhub config check``.

One line per subject (calls, chats, existing records, title, tags), each naming the rule numbers
of SPEC section 3 so that an integrator can match them with the settings they wrote.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from crmhub.core.describe import render_title
from crmhub.core.models import EndUser, LeafQueue, Session
from crmhub.core.session_types import SessionTypeCatalogue
from crmhub.core.settings import RecordCreationSettings, Settings

# The session of SPEC section 2's example event: the title and tag examples are rendered for it.
EXAMPLE_SESSION = Session(
    id="call-1001",
    channel="call",
    session_type="Voice Inbound (IVR)",
    leaf_queue=LeafQueue("q-42", ("Support", "Billing", "Refunds")),
    end_user=EndUser(id="u-7", phone="+14155550100", email="ada@example.com", name="Ada L."),
    dialed_number="+18005550199",
    language="en",
    menu_path="Billing/Refunds",
    started_at=datetime(2026, 11, 25, 9, 29, 40, tzinfo=timezone.utc),
)


def _messages(count: int) -> str:
    return f"{count} message" + ("" if count == 1 else "s")


def calls(rules: RecordCreationSettings) -> str:
    when = "connects to" if rules.delay_call_until_connected else "is assigned to"
    if not rules.create_for_abandoned_calls:
        abandoned = "abandoned calls get no record (rule 5)"
    elif rules.delay_call_until_connected:
        abandoned = "abandoned calls get no record, as only connected calls do (rules 3 and 5)"
    else:
        abandoned = "abandoned calls get a record (rule 5)"
    return f"calls: a record when the call {when} an agent (rule 3); {abandoned}"


def chats(rules: RecordCreationSettings) -> str:
    needed = rules.delay_chat_until_consumer_messages
    if needed:
        when = (
            f"a record once the chat is assigned to an agent and the consumer sent {_messages(needed)}; "
            f"a chat that ends below that gets none (rule 4)"
        )
    else:
        when = "a record when the chat is assigned to an agent, even if the consumer never writes (rule 4)"
    mode = rules.abandoned_chats
    if mode == "off":
        abandoned = "abandoned chats get no record (rule 6)"
    elif mode == "all":
        abandoned = "every abandoned chat gets a record, short-abandoned ones included (rule 6)"
    else:
        abandoned = (
            f"an abandoned chat gets a record if the consumer sent at least "
            f"{_messages(rules.abandoned_chat_min_messages)} (rule 6)"
        )
    short = f"a chat abandoned within {rules.chat_short_abandon_seconds} s of its start is reported as short-abandoned"
    return f"chats: {when}; {abandoned}; {short}"


def existing_records(rules: RecordCreationSettings) -> str:
    if not rules.append_to_open_record:
        return "existing records: every session that needs a record gets a new one (rule 1)"
    line = (
        "existing records: a session is added to the end user's newest open record from the same "
        "leaf queue; anonymous sessions get a new one (rule 1)"
    )
    days = rules.append_to_closed_within_days
    if days:
        line += f"; a record closed within the last {days} days is reopened and added to (rule 2)"
    return line


def title(rules: RecordCreationSettings, catalogue: SessionTypeCatalogue) -> str:
    example = render_title(EXAMPLE_SESSION, rules, catalogue, None)
    return f"title: {rules.title!r}, e.g. {example!r} (rule 7)"


def tags(rules: RecordCreationSettings, plugins: Any, crm: str) -> str:
    """The tags a record gets, with their form for the example session in the selected CRM."""
    kinds = [
        *(["the session type"] if rules.add_session_type_tag else []),
        *([f"the platform tag {rules.platform_tag!r}"] if rules.add_platform_tag else []),
    ]
    if not kinds:
        return "tags: none (rule 8)"
    raw = plugins.session_tags(EXAMPLE_SESSION, rules)
    try:
        example = ", ".join(plugins.for_crm(crm).format_tags(raw))
    except Exception:  # a plugin's formatting bug must not hide the rest of the explanation
        example = ", ".join(raw)
    return f"tags: {' and '.join(kinds)}, e.g. {example} (rule 8)"


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def explain(settings: Settings, plugins: Any) -> list[str]:
    """The lines ``config check`` prints for valid settings. ``plugins`` is the plugin hooks facade."""
    rules = settings.record_creation
    catalogue = SessionTypeCatalogue(settings.session_types)
    lines = [
        f"crm: {settings.crm}",
        f"store: {_without_password(settings.store_url)}",
        calls(rules),
        chats(rules),
        existing_records(rules),
        title(rules, catalogue),
        tags(rules, plugins, settings.crm),
    ]
    if settings.session_types:
        lines.append("session types added in the settings: " + ", ".join(sorted(settings.session_types)))
    return lines
