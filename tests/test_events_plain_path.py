"""The plain path of ``parse_event`` against the schema it stands in for.

A valid event skips marshmallow (see :mod:`crmhub.core.events`); these tests hold the plain path
to the schema: whatever it accepts, the schema accepts too and reads the same way, and the events
hosts send (every shape the event builders make) do take it.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from crmhub.core import events
from crmhub.core.errors import InvalidEvent
from tests.eventkit import ADA, CHAT_TYPE, DELETE, REFUNDS, EventFactory, with_part

ANY_VALUE = st.one_of(
    st.none(), st.booleans(), st.integers(-2, 2), st.sampled_from(["", "x", "call", "chat", "end_user"]),
    st.sampled_from(["2026-11-25T09:30:05Z", "2026-11-25t09:30:05.123456789+05:30", "2026-11-25T09:30:05",
                     "2026-13-25T09:30:05Z", "2026-11-25T25:30:05Z", "2026-W48-3T09:30:05Z"]),
    st.sampled_from(["session.assigned", "session.message", "session.ended"]),
    st.lists(st.sampled_from(["Support", 1, None]), max_size=2), st.just({}), st.just({"id": "q-1"}),
    st.just({"from": "end_user", "text": "hi"}), st.just({"from": "bot"}), st.just({"id": 7}),
)
PATHS = [
    ("id",), ("type",), ("at",), ("agent",), ("short",), ("message",), ("message", "from"), ("message", "text"),
    ("session",), ("session", "id"), ("session", "channel"), ("session", "session_type"), ("session", "started_at"),
    ("session", "leaf_queue"), ("session", "leaf_queue", "id"), ("session", "leaf_queue", "path"),
    ("session", "end_user"), ("session", "end_user", "phone"), ("session", "end_user", "email"),
    ("session", "dialed_number"), ("session", "menu_path"), ("session", "language"),
]


def valid_events() -> list[dict[str, Any]]:
    """One of each shape the builders make: calls and chats, full and bare, every event type."""
    factory = EventFactory()
    call = factory.call("call-1", end_user=ADA, leaf_queue=REFUNDS)
    chat = factory.chat("chat-1", end_user=ADA, leaf_queue=REFUNDS, session_type=CHAT_TYPE)
    bare = factory.call("call-2", bare=True)
    return [
        call.assigned(), call.connected(), call.ended(), call.abandoned(),
        chat.assigned(), chat.message("hello"), chat.message("hi", sender="agent"), chat.abandoned(short=True),
        bare.assigned(), bare.ended(),
    ]


def test_every_event_the_builders_make_takes_the_plain_path() -> None:
    for raw in valid_events():
        assert events._plainly_valid(raw), raw
        assert events.parse_event(raw) == events._parse_with_schema(raw)


@settings(max_examples=400, deadline=None)
@given(
    base=st.sampled_from(valid_events()),
    changes=st.lists(st.tuples(st.sampled_from(PATHS), st.one_of(ANY_VALUE, st.just(DELETE))), min_size=1, max_size=3),
)
def test_the_plain_path_accepts_only_what_the_schema_accepts_and_reads_it_the_same(
    base: dict[str, Any], changes: list[tuple[tuple[str, ...], Any]]
) -> None:
    raw = base
    for path, value in changes:
        raw = with_part(raw, path, value)
    try:
        by_schema = events._parse_with_schema(raw)
    except InvalidEvent:
        assert not events._plainly_valid(raw), raw
        return
    if events._plainly_valid(raw):
        parsed = events.parse_event(raw)
        assert parsed == by_schema and parsed.at == by_schema.at and parsed.at.utcoffset() == by_schema.at.utcoffset()
