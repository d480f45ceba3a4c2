"""crmhub's own behaviour, registered as a plugin through the same manager as everyone else's.

It contributes the session-type and platform tags that ``[record_creation]`` asks for, and the
fallback ``format_tags`` that keeps tags unchanged for a CRM plugin that does not format them.
"""

from __future__ import annotations

from collections.abc import Sequence

from crmhub.core.hookspecs import hookimpl
from crmhub.core.models import Session
from crmhub.core.settings import RecordCreationSettings


@hookimpl
def session_tags(session: Session, settings: RecordCreationSettings) -> list[str]:
    tags = []
    if settings.add_session_type_tag and session.session_type:
        tags.append(session.session_type)
    if settings.add_platform_tag:
        tags.append(settings.platform_tag)
    return tags


@hookimpl(trylast=True)
def format_tags(tags: Sequence[str]) -> list[str]:
    return list(tags)
