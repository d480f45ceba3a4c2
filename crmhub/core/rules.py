"""The rule engine: the record-creation rules of SPEC section 3 as pure functions.

No I/O and no clock: every function takes the session's state, the event and the settings, and
answers with a decision and a reason in plain words. Two questions are asked, in this order:

1. :func:`decide` — does this event make the session need a record now, wait, or never?
2. :func:`choose_target` — given what the CRM found for this end user and leaf queue, append to
   it, reopen it, or create a new record?
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from crmhub.core.events import merge_session_fields, session_from_fields
from crmhub.core.models import CrmRecord, Event, Session
from crmhub.core.settings import RecordCreationSettings

Verdict = Literal["record", "defer", "skip"]
Target = Literal["create", "append", "reopen"]


@dataclass(frozen=True)
class SessionState:
    """What crmhub remembers of one session between events."""

    session_fields: dict[str, Any]
    assigned: bool = False
    connected: bool = False
    consumer_messages: int = 0
    finished: Literal["ended", "abandoned"] | None = None
    record: CrmRecord | None = None
    first_event_at: datetime | None = None
    in_flight: bool = False
    """A CRM write for this session was started and its result is not yet known."""

    @cached_property
    def session(self) -> Session:
        """The typed view of ``session_fields`` (built once per state: states are never changed)."""
        return session_from_fields(self.session_fields)

    @property
    def channel(self) -> str:
        return self.session_fields["channel"]


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str
    short_abandoned: bool = field(default=False)


def start_state(event: Event) -> SessionState:
    """The state of a session before its first event."""
    return SessionState(session_fields={"id": event.session_id, "channel": event.channel})


def observe(state: SessionState, event: Event) -> SessionState:
    """Fold what an event tells about the session into its state (rules read the result)."""
    if state.finished:
        return state
    first = state.first_event_at or event.at
    return replace(
        state,
        session_fields=merge_session_fields(state.session_fields, event.session_fields),
        first_event_at=min(first, event.at),
        assigned=state.assigned or event.type in ("session.assigned", "session.connected"),
        connected=state.connected or event.type == "session.connected",
        consumer_messages=state.consumer_messages + (
            event.type == "session.message" and event.message_from == "end_user" and state.channel == "chat"
        ),
        finished=_FINISHING.get(event.type),
    )


_FINISHING: dict[str, Literal["ended", "abandoned"]] = {"session.ended": "ended", "session.abandoned": "abandoned"}


def is_short_abandon(state: SessionState, event: Event, rules: RecordCreationSettings) -> bool:
    """Abandoned within ``chat_short_abandon_seconds`` of the start, unless the event says."""
    if event.short is not None:
        return event.short
    started = state.session.started_at or state.first_event_at
    if started is None:
        return False
    return (event.at - started) <= timedelta(seconds=rules.chat_short_abandon_seconds)


def decide(state: SessionState, event: Event, rules: RecordCreationSettings) -> tuple[SessionState, Decision]:
    """Apply one event: the session's new state and whether it needs a record now.

    ``state`` is the state before the event (see :func:`start_state` for a new session).
    """
    if state.record is not None:
        return observe(state, event), Decision("skip", f"the session already has record {state.record.id}")
    if state.finished:
        return state, Decision("skip", "arrived after the session ended")
    new = observe(state, event)
    if state.channel == "call":
        return new, _decide_call(new, event, rules)
    return new, _decide_chat(new, event, rules)


def _decide_call(state: SessionState, event: Event, rules: RecordCreationSettings) -> Decision:
    if event.type == "session.message":
        return Decision("skip", "a message on a call is accepted and ignored")
    if event.type == "session.abandoned":
        short = is_short_abandon(state, event, rules)
        if not rules.create_for_abandoned_calls:
            return Decision("skip", "abandoned call: records for abandoned calls are off (rule 5)", short)
        if rules.delay_call_until_connected:
            return Decision(
                "skip",
                "abandoned call: only calls connected to an agent get records while "
                "delay_call_until_connected is on (rules 3 and 5)",
                short,
            )
        return Decision("record", "abandoned call: records for abandoned calls are on (rule 5)", short)
    if event.type == "session.ended":
        if not state.assigned:
            return Decision("skip", "the call ended before it was assigned to an agent")
        return Decision("skip", "the call ended before it connected to an agent (rule 3)")
    if event.type == "session.connected":
        return Decision("record", "the call connected to an agent")
    # session.assigned
    if rules.delay_call_until_connected:
        return Decision("defer", "waiting for the call to connect to an agent (rule 3)")
    return Decision("record", "the call was assigned to an agent")


def _decide_chat(state: SessionState, event: Event, rules: RecordCreationSettings) -> Decision:
    needed = rules.delay_chat_until_consumer_messages
    count = state.consumer_messages
    if event.type == "session.abandoned":
        return _decide_abandoned_chat(state, event, rules)
    if event.type == "session.ended":
        if not state.assigned:
            return Decision("skip", "the chat ended before it was assigned to an agent")
        return Decision(
            "skip", f"the chat ended with {count} of {needed} consumer messages (rule 4)"
        )
    if not state.assigned:
        return Decision("defer", "waiting for the chat to be assigned to an agent")
    if needed == 0:
        return Decision("record", "the chat was assigned to an agent")
    if count >= needed:
        return Decision("record", f"the consumer sent {count} of {needed} messages (rule 4)")
    return Decision("defer", f"the consumer sent {count} of {needed} messages so far (rule 4)")


def _decide_abandoned_chat(state: SessionState, event: Event, rules: RecordCreationSettings) -> Decision:
    short = is_short_abandon(state, event, rules)
    kind = "short-abandoned chat" if short else "abandoned chat"
    mode = rules.abandoned_chats
    if mode == "off":
        return Decision("skip", f"{kind}: records for abandoned chats are off (rule 6)", short)
    if mode == "all":
        return Decision("record", f"{kind}: records for all abandoned chats (rule 6)", short)
    needed, count = rules.abandoned_chat_min_messages, state.consumer_messages
    if count >= needed:
        return Decision("record", f"{kind}: the consumer sent {count} of {needed} messages (rule 6)", short)
    return Decision("skip", f"{kind}: the consumer sent {count} of {needed} messages (rule 6)", short)


# --- which record --------------------------------------------------------------------------------


def closed_since(rules: RecordCreationSettings, at: datetime) -> datetime | None:
    """The earliest close time a record may have and still be reopened (rule 2), or None."""
    if not rules.append_to_open_record or rules.append_to_closed_within_days <= 0:
        return None
    return at - timedelta(days=rules.append_to_closed_within_days)


def pick_record(candidates: Iterable[CrmRecord], closed_since: datetime | None) -> CrmRecord | None:
    """Among an end user's records from one leaf queue: the newest open one; else, when rule 2
    is on, the one closed most recently at or after ``closed_since``; else None.

    "Newest" compares ``created_at`` (records without one sort oldest), then the id (numeric ids
    as numbers), so that the choice is the same whatever order the CRM listed them in.
    """
    records = list(candidates)

    def newest(record: CrmRecord) -> tuple[datetime, tuple[int, int, str]]:
        number = (0, int(record.id), "") if record.id.isdigit() else (1, 0, record.id)
        return (record.created_at or datetime.min.replace(tzinfo=timezone.utc), number)

    open_records = [r for r in records if r.is_open]
    if open_records:
        return max(open_records, key=newest)
    if closed_since is None:
        return None
    in_window = [r for r in records if r.closed_at is not None and r.closed_at >= closed_since]
    if not in_window:
        return None
    return max(in_window, key=lambda r: (r.closed_at, newest(r)))


@dataclass(frozen=True)
class TargetChoice:
    target: Target
    reason: str
    record: CrmRecord | None = None


def needs_lookup(session: Session, rules: RecordCreationSettings) -> bool:
    """Whether the CRM must be asked for an existing record before creating one (rule 1)."""
    return rules.append_to_open_record and not session.is_anonymous and session.leaf_queue is not None


def choose_target(
    session: Session, found: CrmRecord | None, rules: RecordCreationSettings, at: datetime
) -> TargetChoice:
    """Rules 1 and 2: append to ``found``, reopen it, or create a new record."""
    if not rules.append_to_open_record:
        return TargetChoice("create", "new record: appending to open records is off (rule 1)")
    if session.is_anonymous:
        return TargetChoice("create", "new record: anonymous sessions always get a new record (rule 1)")
    if session.leaf_queue is None:
        return TargetChoice("create", "new record: the session has no leaf queue (rule 1)")
    queue = session.leaf_queue.id
    if found is None:
        return TargetChoice("create", f"new record: no open record for this end user in leaf queue {queue}")
    if found.is_open:
        return TargetChoice(
            "append", f"appended to open record {found.id} of this end user in leaf queue {queue} (rule 1)", found
        )
    since = closed_since(rules, at)
    if since is not None and found.closed_at is not None and found.closed_at >= since:
        days = rules.append_to_closed_within_days
        return TargetChoice(
            "reopen",
            f"reopened record {found.id} of this end user in leaf queue {queue}: closed "
            f"{found.closed_at.isoformat()}, within {days} days (rule 2)",
            found,
        )
    return TargetChoice(
        "create", f"new record: no open record for this end user in leaf queue {queue} within the window"
    )
