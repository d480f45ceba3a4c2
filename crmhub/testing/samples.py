"""The standard inputs of the connector suite.

Every plugin records its suite fixtures for exactly these values, so that the same questions are
asked of every CRM: one end user (``u-7``), one leaf queue (``q-42``), one event time (``AT``), a
first session ``call-1001`` and a second session ``call-1002`` of the same end user.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

from crmhub.core.describe import describe_session
from crmhub.core.models import EndUser, LeafQueue, NewRecord, RecordQuery, Session, SessionNote
from crmhub.core.session_types import SessionTypeCatalogue

AT = datetime(2026, 11, 25, 9, 30, 5, tzinfo=timezone.utc)
STARTED_AT = datetime(2026, 11, 25, 9, 29, 40, tzinfo=timezone.utc)
END_USER = EndUser(id="u-7", phone="+14155550100", email="ada@example.com", name="Ada L.")
LEAF_QUEUE = LeafQueue("q-42", ("Support", "Billing", "Refunds"))
SESSION_TYPE = "Voice Inbound (IVR)"
RAW_TAGS = ("Voice Inbound (IVR)", "UJET")
TAGS = ("voice_inbound_ivr", "ujet")
REASON = "new record: no open record for this end user in leaf queue q-42"


def session(session_id: str = "call-1001", channel: str = "call", end_user: EndUser | None = END_USER) -> Session:
    """A call of ``END_USER`` routed to ``LEAF_QUEUE`` (or an anonymous one with ``end_user=None``)."""
    return _sample_session(session_id, channel, end_user)


def _sample_session(session_id: str, channel: str, end_user: EndUser | None) -> Session:
    return Session(
        id=session_id,
        channel=channel,
        session_type=SESSION_TYPE,
        leaf_queue=LEAF_QUEUE,
        end_user=end_user,
        dialed_number="+18005550199",
        language="en",
        menu_path="Billing/Refunds",
        started_at=STARTED_AT,
    )


def description(for_session: Session) -> str:
    """The text crmhub writes for a session, as the dispatcher would write it."""
    return describe_session(for_session, SessionTypeCatalogue(), REASON)


def new_record(session: Session | None = None, tags: Sequence[str] = TAGS) -> NewRecord:
    """What ``create_record`` receives for ``session`` (default: the sample ``call-1001``)."""
    for_session = session if session is not None else _sample_session("call-1001", "call", END_USER)
    return NewRecord(
        session=for_session,
        title=f"IVR Call {for_session.id}",
        description=description(for_session),
        tags=tuple(tags),
        idempotency_key=f"crmhub-{for_session.id}",
        at=AT,
    )


def note(session_id: str = "call-1002", tags: Sequence[str] = TAGS) -> SessionNote:
    """A second session of the same end user, being added to an existing record."""
    later = _sample_session(session_id, "call", END_USER)
    return SessionNote(
        session=later, text=description(later), tags=tuple(tags), at=AT, idempotency_key=f"crmhub-{session_id}"
    )


def query(window_days: int | None = None, hint: str | None = None) -> RecordQuery:
    """``find_open_record``'s question for ``END_USER`` in ``LEAF_QUEUE`` at ``AT``.

    ``window_days`` turns rule 2 on: records closed at or after ``AT - window_days`` count.
    """
    since = AT - timedelta(days=window_days) if window_days is not None else None
    return RecordQuery(
        end_user=END_USER, leaf_queue=LEAF_QUEUE, at=AT, closed_since=since, hint=hint, session_id="call-1002"
    )
