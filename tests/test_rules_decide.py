"""The rule engine's "does this session need a record now?" (SPEC section 3, rules 3 to 6).

Each table row is a session's events in arrival order and the verdict expected after each one.
Where the engine says ``record``, the test stores a record on the state exactly as the dispatcher
does, so that later rows see "the session already has a record".
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from crmhub.core.events import parse_event
from crmhub.core.models import CrmRecord
from crmhub.core.rules import Decision, SessionState, decide, start_state
from crmhub.core.settings import RecordCreationSettings
from tests.eventkit import EventFactory, SessionEvents

R, D, S = "record", "defer", "skip"


def event_for(session: SessionEvents, step: str) -> dict[str, Any]:
    """One step of a script: ``assigned``, ``connected``, ``msg`` (end user), ``agent-msg``,
    ``system-msg``, ``abandoned``, ``abandoned-short``/``abandoned-long`` (explicit ``short``),
    ``ended``, or ``wait:SECONDS`` (moves the clock without an event; returns nothing)."""
    simple = {
        "assigned": session.assigned,
        "connected": session.connected,
        "abandoned": session.abandoned,
        "ended": session.ended,
        "msg": lambda: session.message("hi", sender="end_user"),
        "agent-msg": lambda: session.message("how can I help?", sender="agent"),
        "system-msg": lambda: session.message("queued", sender="system"),
        "abandoned-short": lambda: session.abandoned(short=True),
        "abandoned-long": lambda: session.abandoned(short=False),
    }
    return simple[step]()


def run(channel: str, steps: list[str], **settings: Any) -> list[Decision]:
    """The decisions for a script of steps, one session, with the given ``[record_creation]``."""
    rules = RecordCreationSettings(**settings)
    factory = EventFactory()
    session = factory.session(channel, f"{channel}-1")
    state: SessionState | None = None
    decisions = []
    for step in steps:
        if step.startswith("wait:"):
            factory.advance(float(step.split(":", 1)[1]))
            continue
        event = parse_event(event_for(session, step))
        state = state or start_state(event)
        state, decision = decide(state, event, rules)
        if decision.verdict == "record":
            state = replace(state, record=CrmRecord("local", "1", "open", "open"))
        decisions.append(decision)
    return decisions


def verdicts(channel: str, steps: list[str], **settings: Any) -> list[str]:
    return [decision.verdict for decision in run(channel, steps, **settings)]


# --- rule 3: delay call record creation until connected --------------------------------------

RULE_3 = [
    # (settings, steps, expected verdicts)
    ({}, ["assigned", "connected", "ended"], [R, S, S]),
    ({"delay_call_until_connected": True}, ["assigned", "connected", "ended"], [D, R, S]),
    ({"delay_call_until_connected": True}, ["assigned", "ended"], [D, S]),
    ({"delay_call_until_connected": True}, ["assigned", "ended", "connected"], [D, S, S]),
    ({"delay_call_until_connected": True}, ["connected", "assigned", "ended"], [R, S, S]),
    ({}, ["connected", "assigned"], [R, S]),
    ({}, ["ended"], [S]),
    ({"delay_call_until_connected": True}, ["ended", "assigned", "connected"], [S, S, S]),
]


@pytest.mark.parametrize("settings, steps, expected", RULE_3)
def test_rule_3_delays_call_records_until_connected(settings, steps, expected):
    assert verdicts("call", steps, **settings) == expected


def test_rule_3_hang_up_between_assignment_and_connection_says_why():
    decisions = run("call", ["assigned", "ended"], delay_call_until_connected=True)
    assert "connect" in decisions[0].reason and "rule 3" in decisions[0].reason
    assert decisions[1].verdict == S and "rule 3" in decisions[1].reason


# --- rule 5 alone, and rules 3 + 5 together ------------------------------------------------------

RULE_5 = [
    ({}, ["abandoned"], [S]),
    ({"create_for_abandoned_calls": True}, ["abandoned"], [R]),
    ({"create_for_abandoned_calls": True}, ["abandoned", "assigned"], [R, S]),
    ({"create_for_abandoned_calls": False}, ["abandoned", "assigned", "connected"], [S, S, S]),
    # the record made at assignment is kept when the caller hangs up (rule 5 plays no part)
    ({"create_for_abandoned_calls": False}, ["assigned", "abandoned"], [R, S]),
    ({"create_for_abandoned_calls": True, "delay_call_until_connected": True}, ["abandoned"], [S]),
    ({"create_for_abandoned_calls": True, "delay_call_until_connected": True}, ["assigned", "abandoned"], [D, S]),
    ({"create_for_abandoned_calls": True, "delay_call_until_connected": True}, ["assigned", "connected", "abandoned"], [D, R, S]),
    ({"create_for_abandoned_calls": False, "delay_call_until_connected": True}, ["assigned", "abandoned"], [D, S]),
    ({"create_for_abandoned_calls": True, "delay_call_until_connected": False}, ["assigned", "abandoned"], [R, S]),
    # rule 5 with rule 3 off: the call abandoned while waiting gets a record even if never assigned
    ({"create_for_abandoned_calls": True}, ["msg", "abandoned"], [S, R]),
]


@pytest.mark.parametrize("settings, steps, expected", RULE_5)
def test_rule_5_and_rules_3_plus_5_for_abandoned_calls(settings, steps, expected):
    assert verdicts("call", steps, **settings) == expected


def test_rules_3_and_5_together_name_both_rules():
    (decision,) = run("call", ["abandoned"], create_for_abandoned_calls=True, delay_call_until_connected=True)
    assert decision.verdict == S
    assert "rules 3 and 5" in decision.reason


def test_rule_5_off_says_so():
    (decision,) = run("call", ["abandoned"])
    assert "rule 5" in decision.reason


# --- rule 4: delay chat record creation until N consumer messages -------------------------------

RULE_4 = [
    ({}, ["assigned"], [R]),
    ({"delay_chat_until_consumer_messages": 0}, ["assigned", "ended"], [R, S]),
    ({}, ["msg", "assigned"], [D, R]),
    ({}, ["connected"], [R]),
    ({"delay_chat_until_consumer_messages": 2}, ["assigned", "msg", "msg", "msg"], [D, D, R, S]),
    ({"delay_chat_until_consumer_messages": 2}, ["msg", "msg", "assigned"], [D, D, R]),
    ({"delay_chat_until_consumer_messages": 2}, ["msg", "assigned", "msg"], [D, D, R]),
    ({"delay_chat_until_consumer_messages": 1}, ["assigned", "agent-msg", "system-msg", "msg"], [D, D, D, R]),
    ({"delay_chat_until_consumer_messages": 2}, ["assigned", "msg", "ended"], [D, D, S]),
    ({"delay_chat_until_consumer_messages": 2}, ["assigned", "msg", "ended", "msg"], [D, D, S, S]),
    ({"delay_chat_until_consumer_messages": 1}, ["msg", "ended", "assigned"], [D, S, S]),
    ({"delay_chat_until_consumer_messages": 1}, ["connected", "msg"], [D, R]),
    ({}, ["ended", "assigned"], [S, S]),
]


@pytest.mark.parametrize("settings, steps, expected", RULE_4)
def test_rule_4_delays_chat_records_until_n_consumer_messages(settings, steps, expected):
    assert verdicts("chat", steps, **settings) == expected


def test_rule_4_counts_messages_in_reasons():
    decisions = run("chat", ["assigned", "msg", "msg"], delay_chat_until_consumer_messages=2)
    assert "1 of 2" in decisions[1].reason and "rule 4" in decisions[1].reason
    assert "2 of 2" in decisions[2].reason


def test_rule_4_chat_ending_below_n_says_so():
    decisions = run("chat", ["assigned", "msg", "ended"], delay_chat_until_consumer_messages=3)
    assert decisions[-1].verdict == S
    assert "1 of 3" in decisions[-1].reason and "rule 4" in decisions[-1].reason


# --- rule 6: abandoned chats -------------------------------------------------------------------
# Short/long by time: the eventkit starts a session at `started_at` and moves 5 s per event.

RULE_6 = [
    ({"abandoned_chats": "off"}, ["abandoned"], [S]),
    ({"abandoned_chats": "off"}, ["wait:120", "abandoned"], [S]),
    ({"abandoned_chats": "off"}, ["msg", "msg", "msg", "abandoned-long"], [D, D, D, S]),
    ({"abandoned_chats": "all"}, ["abandoned"], [R]),
    ({"abandoned_chats": "all"}, ["wait:120", "abandoned"], [R]),
    ({"abandoned_chats": "all"}, ["abandoned-short"], [R]),
    ({"abandoned_chats": "all"}, ["abandoned", "msg", "assigned"], [R, S, S]),
    ({"abandoned_chats": "min_messages", "abandoned_chat_min_messages": 2}, ["msg", "abandoned"], [D, S]),
    ({"abandoned_chats": "min_messages", "abandoned_chat_min_messages": 2}, ["msg", "msg", "abandoned"], [D, D, R]),
    ({"abandoned_chats": "min_messages", "abandoned_chat_min_messages": 2}, ["msg", "agent-msg", "abandoned"], [D, D, S]),
    # short abandonment changes no decision under min_messages: only the count counts
    ({"abandoned_chats": "min_messages", "abandoned_chat_min_messages": 1}, ["msg", "abandoned-short"], [D, R]),
    ({"abandoned_chats": "min_messages", "abandoned_chat_min_messages": 1}, ["abandoned-long"], [S]),
    ({"abandoned_chats": "min_messages"}, ["msg", "wait:300", "abandoned"], [D, R]),
    # an abandoned chat is decided by rule 6 alone, whatever rule 4 was waiting for
    ({"delay_chat_until_consumer_messages": 5, "abandoned_chats": "min_messages", "abandoned_chat_min_messages": 2},
     ["assigned", "msg", "msg", "abandoned"], [D, D, D, R]),
    ({"delay_chat_until_consumer_messages": 1, "abandoned_chats": "min_messages", "abandoned_chat_min_messages": 3},
     ["msg", "msg", "abandoned"], [D, D, S]),
    ({"delay_chat_until_consumer_messages": 5, "abandoned_chats": "all"}, ["assigned", "abandoned"], [D, R]),
    ({"delay_chat_until_consumer_messages": 5, "abandoned_chats": "off"}, ["assigned", "msg", "abandoned"], [D, D, S]),
    # a session abandoned after its record exists keeps that record
    ({"abandoned_chats": "off"}, ["assigned", "abandoned"], [R, S]),
]


@pytest.mark.parametrize("settings, steps, expected", RULE_6)
def test_rule_6_abandoned_chats(settings, steps, expected):
    assert verdicts("chat", steps, **settings) == expected


SHORT_OR_LONG = [
    # (steps before the abandon, explicit short, chat_short_abandon_seconds, expected short)
    ([], None, 30, True),  # 5 s after started_at
    (["wait:25"], None, 30, True),  # exactly 30 s: within
    (["wait:26"], None, 30, False),  # 31 s
    (["wait:120"], None, 30, False),
    (["wait:120"], None, 300, True),
    ([], False, 30, False),  # the explicit flag wins over the computed one
    (["wait:120"], True, 30, True),
]


@pytest.mark.parametrize("mode", ["off", "all", "min_messages"])
@pytest.mark.parametrize("before, short, seconds, expected_short", SHORT_OR_LONG)
def test_rule_6_short_abandonment_is_reported_and_changes_no_decision(mode, before, short, seconds, expected_short):
    step = {None: "abandoned", True: "abandoned-short", False: "abandoned-long"}[short]
    decision = run(
        "chat", [*before, step], abandoned_chats=mode, abandoned_chat_min_messages=1,
        chat_short_abandon_seconds=seconds,
    )[-1]
    assert decision.short_abandoned is expected_short
    assert ("short-abandoned" in decision.reason) is expected_short
    assert "rule 6" in decision.reason
    assert decision.verdict == {"off": S, "all": R, "min_messages": S}[mode]


def test_rule_6_short_abandonment_is_measured_from_started_at_not_the_first_event():
    factory = EventFactory()
    chat = factory.chat("chat-1", started_at=factory.now - timedelta(minutes=10))
    rules = RecordCreationSettings(abandoned_chats="all", chat_short_abandon_seconds=30)
    first = parse_event(chat.abandoned())
    _, decision = decide(start_state(first), first, rules)
    assert decision.verdict == R
    assert not decision.short_abandoned
    assert "short-abandoned" not in decision.reason


# --- events after the end, messages on calls, connected without assigned ------------------------

AFTER_THE_END = [
    ("call", {}, ["ended", "assigned"]),
    ("call", {"delay_call_until_connected": True}, ["assigned", "ended", "connected"]),
    ("chat", {}, ["ended", "connected"]),
    ("chat", {"delay_chat_until_consumer_messages": 1}, ["assigned", "ended", "msg"]),
    ("chat", {"abandoned_chats": "off"}, ["abandoned", "assigned"]),
    ("call", {}, ["abandoned", "assigned"]),
    ("chat", {"abandoned_chats": "min_messages", "abandoned_chat_min_messages": 1}, ["abandoned", "msg"]),
]


@pytest.mark.parametrize("channel, settings, steps", AFTER_THE_END)
def test_events_after_the_session_finished_without_a_record_are_skipped(channel, settings, steps):
    last = run(channel, steps, **settings)[-1]
    assert last.verdict == S
    assert last.reason.startswith("arrived after the session")


@pytest.mark.parametrize("channel", ["call", "chat"])
def test_events_after_an_abandon_give_the_spec_reason(channel):
    last = run(channel, ["abandoned", "assigned"])[-1]
    assert last.reason == "arrived after the session ended"


def test_events_after_the_end_give_the_spec_reason():
    last = run("call", ["ended", "assigned"])[-1]
    assert last.reason == "arrived after the session ended"


@pytest.mark.parametrize(
    "settings, steps, expected",
    [
        ({}, ["msg"], [S]),
        ({}, ["msg", "assigned", "msg"], [S, R, S]),
        ({"delay_call_until_connected": True}, ["assigned", "msg", "connected"], [D, S, R]),
    ],
)
def test_a_message_on_a_call_is_accepted_and_skipped(settings, steps, expected):
    assert verdicts("call", steps, **settings) == expected


@pytest.mark.parametrize("sender", ["end_user", "agent", "system"])
def test_a_message_on_a_call_says_why_it_was_skipped(sender):
    step = {"end_user": "msg", "agent": "agent-msg", "system": "system-msg"}[sender]
    (decision,) = run("call", [step], delay_call_until_connected=True)
    assert decision.verdict == S
    assert "message on a call" in decision.reason


def test_connected_without_assigned_creates_what_was_due_at_assignment():
    assert verdicts("call", ["connected"]) == [R]
    assert verdicts("chat", ["connected"]) == [R]
    assert verdicts("call", ["connected"], delay_call_until_connected=True) == [R]


def test_a_session_with_a_record_skips_everything_after_and_names_the_record():
    decisions = run("call", ["assigned", "connected", "msg", "abandoned", "ended", "assigned"])
    assert [d.verdict for d in decisions] == [R, S, S, S, S, S]
    assert all("already has record 1" in d.reason for d in decisions[1:])


def test_session_keys_merge_by_arrival_and_whole_objects_are_replaced():
    factory = EventFactory()
    chat = factory.chat("chat-1")
    rules = RecordCreationSettings(delay_chat_until_consumer_messages=5)
    state = None
    for raw in (
        chat.message(),
        chat.message(fields={"end_user": {"email": "ADA@example.com"}, "language": "fr"}),
        chat.message(bare=True),
    ):
        event = parse_event(raw)
        state, _ = decide(state or start_state(event), event, rules)
    session = state.session
    assert session.language == "fr"
    assert session.end_user is not None
    assert (session.end_user.id, session.end_user.email) == (None, "ADA@example.com")
    assert session.leaf_queue is not None and session.leaf_queue.id == "q-42"
