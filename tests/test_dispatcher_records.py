"""The dispatcher with the built-in ``local`` CRM: which record each session ends up on.

Real SQLite files in ``tmp_path`` for both the state store and the local CRM; the plugin set is
pinned to crmhub's own two plugins so that whatever else is installed cannot change the result.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from crmhub import Dispatcher
from crmhub.local_records import LocalRecords
from crmhub.plugins import load_plugins
from tests.eventkit import ADA, EventFactory, end_user, leaf_queue, local_settings, parse_time


def open_dispatcher(folder: Any, **record_creation: Any) -> Dispatcher:
    return Dispatcher.from_config(
        local_settings(folder, **record_creation),
        plugins=load_plugins(environ={"CRMHUB_LOAD_PLUGINS": "builtin,local"}),
        environ={},
    )


@pytest.fixture
def events() -> EventFactory:
    return EventFactory()


@pytest.fixture
def dispatch(tmp_path):
    """``dispatch(**record_creation)`` → a dispatcher on files in tmp_path, closed afterwards."""
    opened: list[Dispatcher] = []

    def make(**record_creation: Any) -> Dispatcher:
        dispatcher = open_dispatcher(tmp_path, **record_creation)
        opened.append(dispatcher)
        return dispatcher

    yield make
    for dispatcher in opened:
        dispatcher.close()


def records(tmp_path) -> LocalRecords:
    return LocalRecords(tmp_path / "records.db")


def handle_all(dispatcher: Dispatcher, *events: dict[str, Any]) -> list[dict[str, Any]]:
    return [dispatcher.handle(event).to_dict() for event in events]


# --- rule 1 across sessions ------------------------------------------------------------------------


def test_second_session_in_same_leaf_queue_is_appended_to_the_open_record(dispatch, events, tmp_path):
    dispatcher = dispatch(append_to_open_record=True)
    first, second = events.call("call-1"), events.call("call-2")
    created = dispatcher.handle(first.assigned()).to_dict()
    appended = dispatcher.handle(second.assigned()).to_dict()
    assert created["action"] == "created"
    assert created["reason"].startswith("new record: no open record for this end user in leaf queue q-42")
    assert appended["action"] == "appended"
    assert appended["record"] == created["record"]
    assert "rule 1" in appended["reason"]
    (record,) = records(tmp_path).all()
    assert record.session_id == "call-1"
    assert [note["session_id"] for note in record.notes] == ["call-2"]
    assert "call-2" in record.notes[0]["text"]


def test_different_leaf_queue_gets_a_new_record(dispatch, events, tmp_path):
    dispatcher = dispatch(append_to_open_record=True)
    refunds = events.call("call-1")
    sales = events.call("call-2", leaf_queue=leaf_queue("q-77", "Sales", "New"))
    outcomes = handle_all(dispatcher, refunds.assigned(), sales.assigned())
    assert [o["action"] for o in outcomes] == ["created", "created"]
    assert outcomes[0]["record"]["id"] != outcomes[1]["record"]["id"]
    assert [r.leaf_queue_id for r in records(tmp_path).all()] == ["q-42", "q-77"]


def test_a_parent_queue_is_not_the_same_queue(dispatch, events):
    dispatcher = dispatch(append_to_open_record=True)
    leaf = events.call("call-1", leaf_queue=leaf_queue("q-refunds", "Support", "Billing", "Refunds"))
    parent = events.call("call-2", leaf_queue=leaf_queue("q-billing", "Support", "Billing"))
    child_again = events.call("call-3", leaf_queue=leaf_queue("q-refunds", "Support", "Billing", "Refunds"))
    outcomes = handle_all(dispatcher, leaf.assigned(), parent.assigned(), child_again.assigned())
    assert [o["action"] for o in outcomes] == ["created", "created", "appended"]
    assert outcomes[2]["record"] == outcomes[0]["record"]


def test_rule_1_off_gives_every_session_its_own_record(dispatch, events, tmp_path):
    dispatcher = dispatch(append_to_open_record=False, append_to_closed_within_days=3)
    outcomes = handle_all(dispatcher, *(events.call(f"call-{i}").assigned() for i in range(3)))
    assert [o["action"] for o in outcomes] == ["created"] * 3
    assert len({o["record"]["id"] for o in outcomes}) == 3
    assert all(not r.notes for r in records(tmp_path).all())


def test_the_newest_open_record_is_the_one_appended_to(dispatch, events, tmp_path):
    """Two open records for one end user and queue exist (made while rule 1 was off)."""
    without_rule_1 = dispatch()
    older, newer = events.call("call-1"), events.call("call-2")
    ids = [o["record"]["id"] for o in handle_all(without_rule_1, older.assigned(), newer.assigned())]
    with_rule_1 = dispatch(append_to_open_record=True)
    outcome = with_rule_1.handle(events.call("call-3").assigned()).to_dict()
    assert (outcome["action"], outcome["record"]["id"]) == ("appended", ids[1])


def test_concurrent_sessions_of_one_end_user_share_one_record(dispatch, events, tmp_path):
    dispatcher = dispatch(append_to_open_record=True)
    phones = ["+14155550100", "+1 415 555 0100"]
    assigned = [events.call(f"call-{i}", end_user=end_user(phone=phones[i % 2])).assigned() for i in range(12)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(lambda event: dispatcher.handle(event).to_dict(), assigned))
    assert Counter(o["action"] for o in outcomes) == {"created": 1, "appended": 11}
    assert len({o["record"]["id"] for o in outcomes}) == 1
    (record,) = records(tmp_path).all()
    assert len(record.notes) == 11


# --- rule 2: reopening ------------------------------------------------------------------------------


def close_record(tmp_path, record_id: str, at) -> None:
    records(tmp_path).close(record_id, at)


@pytest.mark.parametrize(
    "days_later, expected",
    [(timedelta(days=2), "reopened"), (timedelta(days=3), "reopened"), (timedelta(days=3, seconds=1), "created")],
)
def test_a_record_closed_within_the_window_is_reopened(dispatch, events, tmp_path, days_later, expected):
    dispatcher = dispatch(append_to_open_record=True, append_to_closed_within_days=3)
    first = dispatcher.handle(events.call("call-1").assigned()).to_dict()
    closed_at = events.advance(60)
    close_record(tmp_path, first["record"]["id"], closed_at)
    later = events.call("call-2")
    outcome = dispatcher.handle(later.assigned(at=closed_at + days_later)).to_dict()
    assert outcome["action"] == expected
    assert outcome["record"]["status"] == "open"
    stored = {r.id: r for r in records(tmp_path).all()}
    if expected == "reopened":
        assert outcome["record"]["id"] == first["record"]["id"]
        assert "rule 2" in outcome["reason"]
        assert stored[int(first["record"]["id"])].status == "open"
        assert stored[int(first["record"]["id"])].closed_at is None
        assert [n["session_id"] for n in stored[int(first["record"]["id"])].notes] == ["call-2"]
    else:
        assert outcome["record"]["id"] != first["record"]["id"]
        assert stored[int(first["record"]["id"])].status == "closed"


def test_a_record_closed_after_the_event_time_counts_as_inside_the_window(dispatch, events, tmp_path):
    dispatcher = dispatch(append_to_open_record=True, append_to_closed_within_days=1)
    first = dispatcher.handle(events.call("call-1").assigned()).to_dict()
    close_record(tmp_path, first["record"]["id"], events.now + timedelta(days=10))
    outcome = dispatcher.handle(events.call("call-2").assigned()).to_dict()
    assert (outcome["action"], outcome["record"]["id"]) == ("reopened", first["record"]["id"])


def test_closed_records_are_not_reopened_while_rule_2_is_off(dispatch, events, tmp_path):
    dispatcher = dispatch(append_to_open_record=True)
    first = dispatcher.handle(events.call("call-1").assigned()).to_dict()
    close_record(tmp_path, first["record"]["id"], events.advance(60))
    outcome = dispatcher.handle(events.call("call-2").assigned()).to_dict()
    assert outcome["action"] == "created"
    assert outcome["record"]["id"] != first["record"]["id"]


def test_rule_2_without_rule_1_reopens_nothing(dispatch, events, tmp_path):
    dispatcher = dispatch(append_to_open_record=False, append_to_closed_within_days=30)
    first = dispatcher.handle(events.call("call-1").assigned()).to_dict()
    close_record(tmp_path, first["record"]["id"], events.advance(60))
    assert dispatcher.handle(events.call("call-2").assigned()).to_dict()["action"] == "created"


def test_the_crm_not_the_index_decides_whether_a_record_is_open(dispatch, events, tmp_path):
    """The index remembers record 1 for this end user; once it is closed, rule 1 must not use it."""
    dispatcher = dispatch(append_to_open_record=True)
    first = dispatcher.handle(events.call("call-1").assigned()).to_dict()
    close_record(tmp_path, first["record"]["id"], events.advance(60))
    second = dispatcher.handle(events.call("call-2").assigned()).to_dict()
    third = dispatcher.handle(events.call("call-3").assigned()).to_dict()
    assert second["action"] == "created"
    assert (third["action"], third["record"]["id"]) == ("appended", second["record"]["id"])


# --- the same end user ------------------------------------------------------------------------------

SAME_USER = [
    ("phone formats", end_user(phone="+14155550100"), end_user(phone="+1 (415) 555-0100")),
    ("phone dashes", end_user(phone="+1-415-555-0100"), end_user(phone="+1 415 555 0100")),
    ("email case", end_user(email="Ada@Example.COM"), end_user(email="ada@example.com")),
    ("id wins over other keys", end_user("u-7", phone="+14155550100"), end_user("u-7", email="other@example.com")),
    ("phone wins over email", end_user(phone="+14155550100", email="a@example.com"), end_user(phone="+14155550100", email="b@example.com")),
]


@pytest.mark.parametrize("_, first_user, second_user", SAME_USER, ids=[row[0] for row in SAME_USER])
def test_the_same_end_user_is_recognised(dispatch, events, _, first_user, second_user):
    dispatcher = dispatch(append_to_open_record=True)
    outcomes = handle_all(
        dispatcher,
        events.chat("chat-1", end_user=first_user).assigned(),
        events.chat("chat-2", end_user=second_user).assigned(),
    )
    assert [o["action"] for o in outcomes] == ["created", "appended"]
    assert outcomes[0]["record"] == outcomes[1]["record"]


DIFFERENT_USERS = [
    ("different ids, same phone", end_user("u-7", phone="+14155550100"), end_user("u-8", phone="+14155550100")),
    ("different phones", end_user(phone="+14155550100"), end_user(phone="+14155550101")),
    ("different emails", end_user(email="ada@example.com"), end_user(email="bob@example.com")),
]


@pytest.mark.parametrize("_, first_user, second_user", DIFFERENT_USERS, ids=[row[0] for row in DIFFERENT_USERS])
def test_different_end_users_get_their_own_records(dispatch, events, _, first_user, second_user):
    dispatcher = dispatch(append_to_open_record=True)
    outcomes = handle_all(
        dispatcher,
        events.chat("chat-1", end_user=first_user).assigned(),
        events.chat("chat-2", end_user=second_user).assigned(),
    )
    assert [o["action"] for o in outcomes] == ["created", "created"]


def test_a_session_without_an_id_matches_an_end_user_by_phone(dispatch, events):
    dispatcher = dispatch(append_to_open_record=True)
    outcomes = handle_all(
        dispatcher,
        events.call("call-1", end_user=end_user("u-7", phone="+14155550100")).assigned(),
        events.call("call-2", end_user=end_user(phone="+14155550100")).assigned(),
    )
    assert [o["action"] for o in outcomes] == ["created", "appended"]


@pytest.mark.parametrize("anonymous", [end_user(), None, end_user(name="Caller")], ids=["empty", "absent", "name only"])
def test_anonymous_sessions_always_get_a_new_record(dispatch, events, tmp_path, anonymous):
    dispatcher = dispatch(append_to_open_record=True, append_to_closed_within_days=3)
    outcomes = handle_all(
        dispatcher, *(events.call(f"call-{i}", end_user=anonymous).assigned() for i in range(3))
    )
    assert [o["action"] for o in outcomes] == ["created"] * 3
    assert all("anonymous" in o["reason"] for o in outcomes)
    assert len(records(tmp_path).all()) == 3


def test_an_abandoned_chat_that_gets_a_record_follows_rule_1(dispatch, events):
    dispatcher = dispatch(append_to_open_record=True, abandoned_chats="all")
    first = dispatcher.handle(events.call("call-1").assigned()).to_dict()
    chat = events.chat("chat-1")
    outcome = dispatcher.handle(chat.abandoned(short=True)).to_dict()
    assert (outcome["action"], outcome["record"]) == ("appended", first["record"])
    assert "short-abandoned" in outcome["reason"]


# --- what is written on the record -----------------------------------------------------------------


def test_created_record_has_title_tags_and_session_details(dispatch, events, tmp_path):
    dispatcher = dispatch(
        add_session_type_tag=True, add_platform_tag=True,
        title="{CALL_TYPE} {PHONE_NUMBER} {TIMESTAMP}", timestamp_format="%Y-%m-%d %H:%M",
    )
    call = events.call("call-1001", started_at=parse_time("2026-11-25T09:29:40Z"))
    dispatcher.handle(call.assigned())
    (record,) = records(tmp_path).all()
    assert record.title == "IVR Call +18005550199 2026-11-25 09:29"
    assert record.tags == ["Voice Inbound (IVR)", "UJET"]
    assert record.end_user == ADA
    assert record.leaf_queue_id == "q-42"
    assert record.session_id == "call-1001"
    assert "call-1001" in record.description and "Refunds" in record.description


@pytest.mark.parametrize(
    "settings, expected",
    [
        ({}, []),
        ({"add_session_type_tag": True}, ["Messaging Inbound (Web Chat)"]),
        ({"add_platform_tag": True, "platform_tag": "ACME CC"}, ["ACME CC"]),
    ],
)
def test_tags_follow_the_settings(dispatch, events, tmp_path, settings, expected):
    dispatch(**settings).handle(events.chat("chat-1").assigned())
    assert records(tmp_path).all()[0].tags == expected


def test_default_title_is_call_type_and_call_id(dispatch, events, tmp_path):
    dispatch().handle(events.chat("chat-9").assigned())
    assert records(tmp_path).all()[0].title == "Web Chat chat-9"


def test_an_append_keeps_the_title_adds_a_note_and_the_new_session_type_tag(dispatch, events, tmp_path):
    dispatcher = dispatch(append_to_open_record=True, add_session_type_tag=True, add_platform_tag=True)
    dispatcher.handle(events.call("call-1").assigned())
    chat = events.chat("chat-2", session_type="Messaging Inbound (SMS)")
    outcome = dispatcher.handle(chat.assigned()).to_dict()
    assert outcome["action"] == "appended"
    (record,) = records(tmp_path).all()
    assert record.title == "IVR Call call-1"
    assert record.tags == ["Voice Inbound (IVR)", "UJET", "Messaging Inbound (SMS)"]
    assert [note["session_id"] for note in record.notes] == ["chat-2"]
    assert "Messaging Inbound (SMS)" in record.notes[0]["text"]


# --- later outcomes, duplicates, the session view ----------------------------------------------------


def test_every_later_outcome_carries_the_record(dispatch, events):
    dispatcher = dispatch(delay_chat_until_consumer_messages=1)
    chat = events.chat("chat-1")
    outcomes = handle_all(
        dispatcher, chat.assigned(), chat.message(), chat.message(sender="agent"), chat.abandoned(), chat.ended()
    )
    assert [o["action"] for o in outcomes] == ["deferred", "created", "skipped", "skipped", "skipped"]
    assert outcomes[0]["record"] is None
    assert all(o["record"] == outcomes[1]["record"] for o in outcomes[1:])


def test_a_duplicate_event_is_answered_with_the_current_record(dispatch, events, tmp_path):
    dispatcher = dispatch(delay_call_until_connected=True)
    call = events.call("call-1")
    assigned, connected = call.assigned(), call.connected()
    first = dispatcher.handle(assigned).to_dict()
    assert (first["action"], first["record"]) == ("deferred", None)
    again = dispatcher.handle(assigned).to_dict()
    assert (again["action"], again["record"]) == ("duplicate", None)
    created = dispatcher.handle(connected).to_dict()
    for event in (assigned, connected):
        outcome = dispatcher.handle(event).to_dict()
        assert outcome["event_id"] == event["id"]
        assert (outcome["action"], outcome["record"]) == ("duplicate", created["record"])
    assert len(records(tmp_path).all()) == 1


def test_a_redelivered_event_with_a_changed_body_still_counts_once(dispatch, events, tmp_path):
    dispatcher = dispatch()
    call = events.call("call-1")
    event = call.ended()
    dispatcher.handle(event)
    redelivered = dict(event, type="session.assigned")
    assert dispatcher.handle(redelivered).action == "duplicate"
    assert records(tmp_path).all() == []


def test_session_view_reports_state_and_record(dispatch, events):
    dispatcher = dispatch(delay_chat_until_consumer_messages=2)
    assert dispatcher.session("chat-1") is None
    chat = events.chat("chat-1")
    handle_all(dispatcher, chat.assigned(), chat.message())
    view = dispatcher.session("chat-1").to_dict()
    assert view == {
        "session_id": "chat-1", "channel": "chat", "assigned": True, "connected": False,
        "consumer_messages": 1, "finished": None, "record": None, "queued_events": 0,
    }
    created = dispatcher.handle(chat.message()).to_dict()
    assert dispatcher.session("chat-1").to_dict()["record"] == created["record"]
    assert dispatcher.session("chat-2") is None


def test_state_survives_reopening_the_dispatcher(tmp_path, events):
    settings = {"append_to_open_record": True, "delay_call_until_connected": True}
    call = events.call("call-1")
    assigned, connected, ended = call.assigned(), call.connected(), call.ended()
    with open_dispatcher(tmp_path, **settings) as dispatcher:
        assert dispatcher.handle(assigned).action == "deferred"
    with open_dispatcher(tmp_path, **settings) as dispatcher:
        assert dispatcher.handle(assigned).action == "duplicate"
        created = dispatcher.handle(connected).to_dict()
        assert created["action"] == "created"
    with open_dispatcher(tmp_path, **settings) as dispatcher:
        assert dispatcher.session("call-1").to_dict()["record"] == created["record"]
        assert dispatcher.handle(ended).to_dict()["record"] == created["record"]
        other = dispatcher.handle(events.call("call-2").connected()).to_dict()
        assert (other["action"], other["record"]) == ("appended", created["record"])
    assert len(records(tmp_path).all()) == 1
