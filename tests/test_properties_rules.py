"""Property tests of the rule engine against an independent model of SPEC section 3.

:class:`SpecModel` is written from the SPEC's words, not from ``crmhub.core.rules``: a session's
events are taken in arrival order, decisions are final on arrival, and once a session has a record
or has finished without one nothing changes. The strategies here (sessions of a few end users in
a few leaf queues, with random settings) are shared with ``test_properties_dispatcher.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from crmhub.core.events import parse_event
from crmhub.core.models import CrmRecord
from crmhub.core.rules import decide, start_state
from crmhub.core.settings import RecordCreationSettings
from tests.eventkit import START, EventFactory, end_user, leaf_queue, parse_time

# Each entry is one end user written in several ways the SPEC says are the same person; the last
# one is anonymous. Nobody is written with an id in one session and without it in another.
END_USERS: list[list[dict[str, str]]] = [
    [end_user("u-1"), end_user("u-1", name="Ann")],
    [end_user(phone="+14155550102"), end_user(phone="+1 (415) 555-0102"), end_user(phone="+1-415-555-0102")],
    [end_user(email="cy@example.com"), end_user(email="Cy@Example.COM")],
    [end_user(), end_user(name="Someone")],
]
ANONYMOUS = len(END_USERS) - 1
QUEUES = ["q-1", "q-2"]
CALL_STEPS = ["assigned", "connected", "msg"]
CHAT_STEPS = ["assigned", "connected", "msg", "msg", "agent-msg", "system-msg"]


@dataclass(frozen=True)
class SessionPlan:
    """One session: who, where, its steps in natural order, and the seconds between them."""

    session_id: str
    channel: str
    user: int
    variant: int
    queue: str
    steps: tuple[str, ...]
    gaps: tuple[int, ...]
    short: bool | None
    start_minute: int


@st.composite
def session_plans(draw: Any, index: int) -> SessionPlan:
    channel = draw(st.sampled_from(["call", "chat"]))
    body = draw(st.lists(st.sampled_from(CALL_STEPS if channel == "call" else CHAT_STEPS), max_size=5))
    terminal = draw(st.sampled_from([None, "abandoned", "ended"]))
    steps = tuple(body) + ((terminal,) if terminal else ())
    user = draw(st.integers(0, len(END_USERS) - 1))
    return SessionPlan(
        session_id=f"{channel}-{index}",
        channel=channel,
        user=user,
        variant=draw(st.integers(0, len(END_USERS[user]) - 1)),
        queue=draw(st.sampled_from(QUEUES)),
        steps=steps,
        gaps=tuple(draw(st.lists(st.integers(1, 45), min_size=len(steps), max_size=len(steps)))),
        short=draw(st.sampled_from([None, True, False])),
        start_minute=draw(st.integers(0, 30)),
    )


@st.composite
def worlds(draw: Any, max_sessions: int = 4) -> list[SessionPlan]:
    count = draw(st.integers(1, max_sessions))
    return [draw(session_plans(i)) for i in range(count)]


record_settings = st.fixed_dictionaries(
    {
        "append_to_open_record": st.booleans(),
        "append_to_closed_within_days": st.integers(0, 3),
        "delay_call_until_connected": st.booleans(),
        "delay_chat_until_consumer_messages": st.integers(0, 3),
        "create_for_abandoned_calls": st.booleans(),
        "abandoned_chats": st.sampled_from(["off", "all", "min_messages"]),
        "abandoned_chat_min_messages": st.integers(1, 3),
        "chat_short_abandon_seconds": st.sampled_from([0, 10, 30, 120]),
    }
)


def plan_events(plans: list[SessionPlan]) -> dict[str, list[dict[str, Any]]]:
    """Each session's event dicts in natural order, with unique ids."""
    factory = EventFactory()
    by_session: dict[str, list[dict[str, Any]]] = {}
    for plan in plans:
        started = START + timedelta(minutes=plan.start_minute)
        session = factory.session(
            plan.channel, plan.session_id, started_at=started,
            end_user=END_USERS[plan.user][plan.variant], leaf_queue=leaf_queue(plan.queue),
        )
        events, at = [], started
        for step, gap in zip(plan.steps, plan.gaps):
            at += timedelta(seconds=gap)
            if step == "abandoned":
                events.append(session.abandoned(short=plan.short, at=at))
            elif step in ("msg", "agent-msg", "system-msg"):
                sender = {"msg": "end_user", "agent-msg": "agent", "system-msg": "system"}[step]
                events.append(session.message(sender=sender, at=at))
            else:
                events.append(session.event(f"session.{step}", at=at))
        by_session[plan.session_id] = events
    return by_session


# --- the model ------------------------------------------------------------------------------------


@dataclass
class ModelSession:
    channel: str
    assigned: bool = False
    consumer_messages: int = 0
    finished: bool = False
    has_record: bool = False


@dataclass
class SpecModel:
    """SPEC section 3, event by event. ``step`` answers record / defer / skip and, for an
    abandoned chat that rule 6 decides, whether it was short-abandoned."""

    rules: dict[str, Any]
    sessions: dict[str, ModelSession] = field(default_factory=dict)

    def step(self, event: dict[str, Any]) -> tuple[str, bool | None]:
        session = self.sessions.setdefault(event["session"]["id"], ModelSession(event["session"]["channel"]))
        kind = event["type"].removeprefix("session.")
        if session.has_record or session.finished:
            return "skip", None
        if kind in ("assigned", "connected"):
            session.assigned = True
        if kind == "message" and session.channel == "chat" and event["message"]["from"] == "end_user":
            session.consumer_messages += 1
        if kind in ("abandoned", "ended"):
            session.finished = True
        verdict, short = (self._call if session.channel == "call" else self._chat)(session, kind, event)
        session.has_record = verdict == "record"
        return verdict, short

    def _call(self, session: ModelSession, kind: str, event: dict[str, Any]) -> tuple[str, bool | None]:
        rules = self.rules
        if kind == "abandoned":  # rule 5, and with rule 3 on only connected calls get records
            wanted = rules["create_for_abandoned_calls"] and not rules["delay_call_until_connected"]
            return ("record" if wanted else "skip"), None
        if kind in ("message", "ended"):
            return "skip", None
        if kind == "assigned" and rules["delay_call_until_connected"]:
            return "defer", None
        return "record", None

    def _chat(self, session: ModelSession, kind: str, event: dict[str, Any]) -> tuple[str, bool | None]:
        rules = self.rules
        if kind == "abandoned":  # rule 6 alone
            short = event.get("short")
            if short is None:
                waited = parse_time(event["at"]) - parse_time(event["session"]["started_at"])
                short = waited <= timedelta(seconds=rules["chat_short_abandon_seconds"])
            mode = rules["abandoned_chats"]
            wanted = mode == "all" or (
                mode == "min_messages" and session.consumer_messages >= rules["abandoned_chat_min_messages"]
            )
            return ("record" if wanted else "skip"), short
        if kind == "ended":
            return "skip", None
        if not session.assigned:
            return "defer", None
        if session.consumer_messages >= rules["delay_chat_until_consumer_messages"]:
            return "record", None
        return "defer", None


def interleavings(by_session: dict[str, list[dict[str, Any]]]) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Every merge of the sessions' event lists that keeps each session's own order."""
    owners = [sid for sid, events in by_session.items() for _ in events]

    def merge(order: list[str]) -> list[dict[str, Any]]:
        cursors = {sid: iter(events) for sid, events in by_session.items()}
        return [next(cursors[sid]) for sid in order]

    return st.permutations(owners).map(merge)


@settings(max_examples=300, deadline=None)
@given(plans=worlds(), rules=record_settings, data=st.data())
def test_rule_engine_agrees_with_the_spec_model_in_any_arrival_order(plans, rules, data):
    by_session = plan_events(plans)
    arrivals = data.draw(st.permutations([e for events in by_session.values() for e in events]))
    model = SpecModel(rules)
    engine_rules = RecordCreationSettings(**rules)
    states: dict[str, Any] = {}
    for raw in arrivals:
        event = parse_event(raw)
        state = states.get(event.session_id) or start_state(event)
        state, decision = decide(state, event, engine_rules)
        if decision.verdict == "record":
            state = replace(state, record=CrmRecord("local", event.session_id, "open", "open"))
        states[event.session_id] = state
        expected, short = model.step(raw)
        assert decision.verdict == expected, (raw["type"], raw["session"]["id"], decision.reason)
        if short is not None:
            assert decision.short_abandoned is short
            assert ("short-abandoned" in decision.reason) is short


@settings(max_examples=100, deadline=None)
@given(plans=worlds(), rules=record_settings)
def test_at_most_one_record_decision_per_session_in_natural_order(plans, rules):
    engine_rules = RecordCreationSettings(**rules)
    for events in plan_events(plans).values():
        state, records = None, 0
        for raw in events:
            event = parse_event(raw)
            state, decision = decide(state or start_state(event), event, engine_rules)
            if decision.verdict == "record":
                records += 1
                state = replace(state, record=CrmRecord("local", "1", "open", "open"))
        assert records <= 1


def test_the_model_itself_follows_the_spec_examples():
    """Guards the model: a few rows straight from SPEC section 3."""
    factory = EventFactory()
    call = factory.call("call-1")
    model = SpecModel({"delay_call_until_connected": True, "create_for_abandoned_calls": True})
    assert [model.step(e)[0] for e in (call.assigned(), call.abandoned())] == ["defer", "skip"]
    chat = factory.chat("chat-1")
    model = SpecModel({"delay_chat_until_consumer_messages": 2, "abandoned_chats": "min_messages",
                       "abandoned_chat_min_messages": 1, "chat_short_abandon_seconds": 30})
    steps = [chat.assigned(), chat.message(), chat.abandoned(at=datetime.fromisoformat("2026-11-25T10:30:00+00:00"))]
    assert [model.step(e) for e in steps] == [("defer", None), ("defer", None), ("record", False)]
