"""Parsing the host's events (SPEC section 2): what is accepted, and the field named on rejection."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from crmhub.core.errors import InvalidEvent
from crmhub.core.events import merge_session_fields, parse_event, session_from_fields
from crmhub.core.models import EndUser, LeafQueue

SPEC_EVENT: dict[str, Any] = {
    "id": "evt-000123",
    "type": "session.assigned",
    "at": "2026-11-25T09:30:05Z",
    "session": {
        "id": "call-1001",
        "channel": "call",
        "session_type": "Voice Inbound (IVR)",
        "leaf_queue": {"id": "q-42", "path": ["Support", "Billing", "Refunds"]},
        "end_user": {"id": "u-7", "phone": "+14155550100", "email": "ada@example.com", "name": "Ada L."},
        "dialed_number": "+18005550199",
        "language": "en",
        "menu_path": "Billing/Refunds",
        "started_at": "2026-11-25T09:29:40Z",
    },
    "agent": {"id": "a-3", "email": "sam@example.com"},
    "message": {"from": "end_user", "text": "hello"},
}
MINIMAL: dict[str, Any] = {
    "id": "e-1",
    "type": "session.assigned",
    "at": "2026-11-25T09:30:05+01:00",
    "session": {"id": "s-1", "channel": "chat"},
}


def event(**changes: Any) -> dict[str, Any]:
    """MINIMAL with top-level keys replaced; ``session__KEY`` sets a session key."""
    raw = copy.deepcopy(MINIMAL)
    for key, value in changes.items():
        if key.startswith("session__"):
            raw["session"][key[len("session__"):]] = value
        else:
            raw[key] = value
    return raw


def without(raw: dict[str, Any], dotted: str) -> dict[str, Any]:
    raw = copy.deepcopy(raw)
    *parents, last = dotted.split(".")
    target = raw
    for part in parents:
        target = target[part]
    del target[last]
    return raw


def rejected_field(raw: Any) -> str:
    with pytest.raises(InvalidEvent) as caught:
        parse_event(raw)
    assert caught.value.field in str(caught.value)
    return caught.value.field


def test_the_spec_example_parses():
    parsed = parse_event(SPEC_EVENT)
    assert parsed.id == "evt-000123"
    assert parsed.type == "session.assigned"
    assert parsed.at == datetime(2026, 11, 25, 9, 30, 5, tzinfo=timezone.utc)
    assert parsed.session_id == "call-1001"
    assert parsed.channel == "call"
    assert parsed.agent == {"id": "a-3", "email": "sam@example.com"}
    assert parsed.message_from == "end_user" and parsed.message_text == "hello"
    session = session_from_fields(parsed.session_fields)
    assert session.leaf_queue == LeafQueue("q-42", ("Support", "Billing", "Refunds"))
    assert session.end_user == EndUser(id="u-7", phone="+14155550100", email="ada@example.com", name="Ada L.")
    assert session.started_at == datetime(2026, 11, 25, 9, 29, 40, tzinfo=timezone.utc)
    assert (session.dialed_number, session.language, session.menu_path) == ("+18005550199", "en", "Billing/Refunds")


def test_the_offset_of_at_is_kept():
    assert parse_event(MINIMAL).at.utcoffset() == timedelta(hours=1)


@pytest.mark.parametrize("dotted", ["id", "type", "at", "session", "session.id", "session.channel"])
def test_each_missing_required_key_is_named(dotted):
    assert rejected_field(without(SPEC_EVENT, dotted)) == dotted


@pytest.mark.parametrize(
    "raw, field",
    [
        (event(id=5), "id"),
        (event(id=""), "id"),
        (event(id=None), "id"),
        (event(type=["session.assigned"]), "type"),
        (event(at=1764063005), "at"),
        (event(session="s-1"), "session"),
        (event(session=None), "session"),
        (event(session__id=1001), "session.id"),
        (event(session__channel=None), "session.channel"),
        (event(session__session_type=3), "session.session_type"),
        (event(session__leaf_queue="q-42"), "session.leaf_queue"),
        (event(session__leaf_queue={"path": ["Support"]}), "session.leaf_queue.id"),
        (event(session__leaf_queue={"id": "q", "path": "Support/Billing"}), "session.leaf_queue.path"),
        (event(session__end_user="u-7"), "session.end_user"),
        (event(session__end_user={"phone": 14155550100}), "session.end_user.phone"),
        (event(session__end_user={"email": ["a@b.example"]}), "session.end_user.email"),
        (event(session__dialed_number=18005550199), "session.dialed_number"),
        (event(session__language={"code": "en"}), "session.language"),
        (event(session__menu_path=["Billing", "Refunds"]), "session.menu_path"),
        (event(agent="a-3"), "agent"),
        (event(short="yes"), "short"),
        (event(message={"from": "end_user", "text": 5}), "message.text"),
        (event(message="hello"), "message"),
    ],
)
def test_a_wrong_type_is_rejected_naming_the_field(raw, field):
    assert rejected_field(raw) == field


@pytest.mark.parametrize("value", [1, 0])
def test_a_number_is_not_accepted_as_short(value):
    assert rejected_field(event(type="session.abandoned", short=value)) == "short"


@pytest.mark.parametrize("type_", ["session.created", "assigned", "SESSION.ASSIGNED", ""])
def test_an_unknown_type_is_rejected(type_):
    assert rejected_field(event(type=type_)) == "type"


@pytest.mark.parametrize("channel", ["email", "voice", "Call", ""])
def test_an_unknown_channel_is_rejected(channel):
    assert rejected_field(event(session__channel=channel)) == "session.channel"


def test_an_unknown_message_sender_is_rejected():
    assert rejected_field(event(type="session.message", message={"from": "bot", "text": "hi"})) == "message.from"


@pytest.mark.parametrize(
    "at",
    [
        "2026-11-25T09:30:05",  # no offset
        "2026-11-25 09:30:05",  # no offset
        "2026-11-25",  # a date
        "2026-13-01T09:30:05Z",  # month 13
        "2026-11-31T09:30:05Z",  # 31 November
        "2026-11-25T25:30:05Z",  # hour 25
        "2026-11-25T09:30:05+24:00",  # offset out of range
        "yesterday",
        "",
    ],
)
def test_a_malformed_or_offsetless_at_is_rejected(at):
    assert rejected_field(event(at=at)) == "at"


@pytest.mark.parametrize(
    "at", ["20261125T093005Z", "2026-W48-3T09:30:05Z", "2026-11-25T09:30Z", "2026-11-25T09Z", "2026-11-25T093005Z"]
)
def test_iso_8601_forms_that_are_not_rfc_3339_are_rejected(at):
    assert rejected_field(event(at=at)) == "at"


@pytest.mark.parametrize(
    "at, expected",
    [
        ("2026-11-25T09:30:05Z", datetime(2026, 11, 25, 9, 30, 5, tzinfo=timezone.utc)),
        ("2026-11-25T09:30:05.250Z", datetime(2026, 11, 25, 9, 30, 5, 250000, tzinfo=timezone.utc)),
        ("2026-11-25T04:30:05-05:00", datetime(2026, 11, 25, 9, 30, 5, tzinfo=timezone.utc)),
        ("2026-11-25T09:30:05+00:00", datetime(2026, 11, 25, 9, 30, 5, tzinfo=timezone.utc)),
    ],
)
def test_rfc_3339_timestamps_are_accepted(at, expected):
    assert parse_event(event(at=at)).at == expected


def test_lower_case_t_and_z_are_accepted():
    assert parse_event(event(at="2026-11-25t09:30:05z")).at == datetime(2026, 11, 25, 9, 30, 5, tzinfo=timezone.utc)


@pytest.mark.parametrize("started_at", ["2026-11-25T09:29:40", "soon", 1764063005])
def test_a_malformed_or_offsetless_started_at_is_rejected(started_at):
    assert rejected_field(event(session__started_at=started_at)) == "session.started_at"


def test_unknown_keys_are_kept_at_every_level():
    raw = event(
        tenant="acme",
        session__priority="high",
        session__end_user={"id": "u-1", "vip": True},
        session__leaf_queue={"id": "q-1", "path": ["A"], "skill": "billing"},
        message={"from": "agent", "text": "hi", "attachments": []},
    )
    parsed = parse_event(raw)
    assert parsed.raw["tenant"] == "acme"
    assert parsed.raw["message"]["attachments"] == []
    assert parsed.session_fields["priority"] == "high"
    assert parsed.session_fields["end_user"] == {"id": "u-1", "vip": True}
    session = session_from_fields(parsed.session_fields)
    assert session.extra == {"priority": "high"}
    assert session.end_user == EndUser(id="u-1")
    assert session.leaf_queue == LeafQueue("q-1", ("A",))


@pytest.mark.parametrize("explicit_null", [False, True])
def test_session_message_without_message_is_rejected(explicit_null):
    raw = event(type="session.message")
    if explicit_null:
        raw["message"] = None
    assert rejected_field(raw) == "message"


def test_session_message_needs_a_sender():
    assert rejected_field(event(type="session.message", message={"text": "hi"})) == "message.from"


@pytest.mark.parametrize("sender", ["end_user", "agent", "system"])
def test_each_message_sender_is_accepted(sender):
    assert parse_event(event(type="session.message", message={"from": sender, "text": "x"})).message_from == sender


@pytest.mark.parametrize(
    "type_", ["session.assigned", "session.connected", "session.message", "session.abandoned", "session.ended"]
)
def test_each_event_type_is_accepted(type_):
    raw = event(type=type_, message={"from": "end_user", "text": "x"})
    assert parse_event(raw).type == type_


def test_an_explicit_short_flag_is_read():
    assert parse_event(event(type="session.abandoned", short=True)).short is True
    assert parse_event(event(type="session.abandoned", short=False)).short is False
    assert parse_event(event(type="session.abandoned")).short is None


@pytest.mark.parametrize("end_user", [{}, None, {"id": None, "phone": None, "email": None}, {"name": "Ada"}])
def test_an_empty_end_user_is_an_anonymous_session(end_user):
    session = session_from_fields(parse_event(event(session__end_user=end_user)).session_fields)
    assert session.is_anonymous


@pytest.mark.parametrize("raw", [None, [], "event", 42])
def test_an_event_that_is_not_an_object_is_rejected(raw):
    assert rejected_field(raw) == "event"


def test_a_rejection_does_not_change_the_input():
    raw = event(at="yesterday", session__extra={"k": "v"})
    before = copy.deepcopy(raw)
    rejected_field(raw)
    assert raw == before


def test_merge_keeps_the_latest_value_per_key_and_replaces_objects_whole():
    known = {
        "id": "s-1",
        "channel": "call",
        "language": "en",
        "end_user": {"id": "u-1", "email": "a@b.example"},
        "leaf_queue": {"id": "q-1", "path": ["A", "B"]},
    }
    incoming = {"id": "s-1", "channel": "call", "end_user": {"phone": "+14155550100"}, "leaf_queue": {"id": "q-2"}}
    merged = merge_session_fields(known, incoming)
    assert merged["language"] == "en"
    assert merged["end_user"] == {"phone": "+14155550100"}
    assert merged["leaf_queue"] == {"id": "q-2"}
    assert known["end_user"] == {"id": "u-1", "email": "a@b.example"}
