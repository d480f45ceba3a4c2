"""What crmhub writes on a record: its title, description and the note for an appended session."""

from __future__ import annotations

from datetime import datetime

from typing import TYPE_CHECKING

from crmhub.core.models import Session
from crmhub.core.session_types import SessionTypeCatalogue
from crmhub.core.settings import RecordCreationSettings
from crmhub.core.tags import unique
from crmhub.core.titles import TitleValues

if TYPE_CHECKING:
    from crmhub.core.facade import CrmHooks, PluginHooks


def render_title(
    session: Session, rules: RecordCreationSettings, catalogue: SessionTypeCatalogue, first_event_at: datetime | None
) -> str:
    """The title template filled from the session. ``TIMESTAMP`` is ``started_at``, or the time of
    the session's first event when the host did not send one."""
    values = TitleValues(
        call_type=catalogue.label(session.session_type),
        call_id=session.id,
        menu_path=session.menu_path,
        phone_number=session.dialed_number,
        language=session.language,
        started_at=session.started_at or first_event_at,
    )
    return rules.title_template.render(values, rules.timezone, rules.timestamp_format)


def describe_session(session: Session, catalogue: SessionTypeCatalogue, reason: str) -> str:
    """Plain-text lines describing a session, for a record's description or an appended note."""
    user = session.end_user
    lines = [
        f"Session: {session.id}",
        f"Channel: {session.channel}",
        f"Session type: {session.session_type or 'unknown'}"
        + (f" ({catalogue.label(session.session_type)})" if session.session_type else ""),
        f"Leaf queue: {session.leaf_queue.name} ({session.leaf_queue.id})" if session.leaf_queue else None,
        f"Menu path: {session.menu_path}" if session.menu_path else None,
        f"Language: {session.language}" if session.language else None,
        f"Dialed number: {session.dialed_number}" if session.dialed_number else None,
        f"Started: {session.started_at.isoformat()}" if session.started_at else None,
        "End user: " + ", ".join(filter(None, [user.name, user.phone, user.email, user.id and f"id {user.id}"]))
        if user and not user.is_anonymous
        else "End user: anonymous",
        f"Why: {reason}",
    ]
    return "\n".join(line for line in lines if line)


def record_tags(
    hooks: "PluginHooks", crm: "CrmHooks", catalogue: SessionTypeCatalogue, session: Session,
    rules: RecordCreationSettings,
) -> list[str]:
    """The tags a record gets for ``session``: every plugin's raw tags, each in the form the
    catalogue pins for this CRM, or else as the CRM plugin's ``format_tags`` writes it."""
    raw = unique(hooks.session_tags(session, rules))
    pinned: dict[int, str] = {}
    to_format: list[str] = []
    for position, tag in enumerate(raw):
        form = catalogue.get(tag).tags.get(crm.crm) if tag in catalogue else None
        if form:
            pinned[position] = form
        else:
            to_format.append(tag)
    formatted = iter(crm.format_tags(to_format) if to_format else [])
    return unique(pinned[i] if i in pinned else next(formatted, "") for i in range(len(raw)))
