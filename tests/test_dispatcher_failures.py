"""The dispatcher when the CRM fails: queued, failed, and reconciled outcomes (SPEC sections 2, 9).

The CRM is ``tests.flaky_crm.FlakyCrm``: the local CRM, told to fail its next calls of a hook —
before doing anything, or after the work was done (a lost response).
"""

from __future__ import annotations

import pytest

from crmhub.core.errors import AuthenticationError, PermanentCrmError, TransientCrmError, UnknownOutcomeError
from crmhub.local_records import LocalRecords
from tests.eventkit import EventFactory
from tests.flaky_crm import (  # noqa: F401 -- crm and plugins are fixtures
    AFTER_ANY_BACKOFF,
    Crash,
    crm,
    dispatchers,
    failed,
    pending,
    plugins,
    stored_records,
)


@pytest.fixture
def dispatch(tmp_path, plugins):
    with dispatchers(tmp_path, plugins) as make:
        yield make


@pytest.fixture
def events() -> EventFactory:
    return EventFactory()


# --- transient failures ---------------------------------------------------------------------------


def test_a_transient_failure_queues_the_event_and_later_events_behind_it(dispatch, crm, events, tmp_path):
    dispatcher = dispatch()
    crm.fail("create_record", TransientCrmError("503 from the CRM", retry_after=30), times=2)
    call = events.call("call-1")
    assigned, connected, ended = call.assigned(), call.connected(), call.ended()
    first = dispatcher.handle(assigned).to_dict()
    assert first["action"] == "queued"
    assert first["record"] is None
    assert first["error"] == "503 from the CRM"
    behind = [dispatcher.handle(e).to_dict() for e in (connected, ended)]
    assert [o["action"] for o in behind] == ["queued", "queued"]
    assert crm.calls["create_record"] == 1  # nothing behind the first event reached the CRM
    assert dispatcher.session("call-1").queued_events == 3
    assert [w.event_id for w in pending(dispatcher)] == [assigned["id"], connected["id"], ended["id"]]
    assert dispatcher.handle(connected).action == "duplicate"

    still_down = dispatcher.retry_queued(now=AFTER_ANY_BACKOFF)
    assert [(o.event_id, o.action) for o in still_down] == [(assigned["id"], "queued")]
    assert stored_records(tmp_path) == []

    retried = [o.to_dict() for o in dispatcher.retry_queued(now=AFTER_ANY_BACKOFF)]
    assert [(o["event_id"], o["action"]) for o in retried] == [
        (assigned["id"], "created"), (connected["id"], "skipped"), (ended["id"], "skipped"),
    ]
    assert retried[1]["record"] == retried[0]["record"] == retried[2]["record"]
    assert pending(dispatcher) == []
    assert dispatcher.session("call-1").to_dict()["record"] == retried[0]["record"]
    for event in (assigned, connected, ended):
        again = dispatcher.handle(event).to_dict()
        assert (again["action"], again["record"]) == ("duplicate", retried[0]["record"])
    assert len(stored_records(tmp_path)) == 1


def test_queued_work_of_one_session_does_not_hold_up_another(dispatch, crm, events):
    dispatcher = dispatch()
    crm.fail("create_record", TransientCrmError("timeout"))
    assert dispatcher.handle(events.call("call-1").assigned()).action == "queued"
    assert dispatcher.handle(events.call("call-2").assigned()).action == "created"


def test_queued_events_are_retried_in_arrival_order_per_session(dispatch, crm, events):
    dispatcher = dispatch(delay_chat_until_consumer_messages=2)
    crm.fail("create_record", TransientCrmError("down"))
    chat = events.chat("chat-1")
    outcomes = [dispatcher.handle(e).action for e in (chat.assigned(), chat.message(), chat.message())]
    assert outcomes == ["deferred", "deferred", "queued"]
    later = [chat.message(), chat.ended()]
    assert [dispatcher.handle(e).action for e in later] == ["queued", "queued"]
    retried = dispatcher.retry_queued(now=AFTER_ANY_BACKOFF)
    assert [o.action for o in retried] == ["created", "skipped", "skipped"]
    assert dispatcher.session("chat-1").to_dict()["consumer_messages"] == 3


@pytest.mark.parametrize("hook", ["find_open_record", "append_session"])
def test_a_transient_failure_while_appending_is_queued_and_retried(dispatch, crm, events, tmp_path, hook):
    dispatcher = dispatch(append_to_open_record=True)
    first = dispatcher.handle(events.call("call-1").assigned()).to_dict()
    crm.fail(hook, TransientCrmError("429 rate limited", retry_after=2))
    second = events.call("call-2")
    assert dispatcher.handle(second.assigned()).action == "queued"
    (retried,) = [o.to_dict() for o in dispatcher.retry_queued(now=AFTER_ANY_BACKOFF)]
    assert (retried["action"], retried["record"]) == ("appended", first["record"])
    (record,) = stored_records(tmp_path)
    assert [n["session_id"] for n in record.notes] == ["call-2"]


def test_a_transient_failure_while_reopening_is_queued_and_retried(dispatch, crm, events, tmp_path):
    dispatcher = dispatch(append_to_open_record=True, append_to_closed_within_days=2)
    first = dispatcher.handle(events.call("call-1").assigned()).to_dict()
    LocalRecords(tmp_path / "records.db").close(first["record"]["id"], events.advance(60))
    crm.fail("reopen", TransientCrmError("502"))
    assert dispatcher.handle(events.call("call-2").assigned()).action == "queued"
    (retried,) = dispatcher.retry_queued(now=AFTER_ANY_BACKOFF)
    assert (retried.action, retried.record.id, retried.record.status) == ("reopened", first["record"]["id"], "open")


# --- permanent failures ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error, text",
    [
        (PermanentCrmError("422: subject is too long"), "422: subject is too long"),
        (AuthenticationError("401: credentials refused"), "401: credentials refused"),
    ],
)
def test_a_permanent_refusal_fails_the_event_and_keeps_the_work(dispatch, crm, events, tmp_path, error, text):
    dispatcher = dispatch()
    crm.fail("create_record", error)
    call = events.call("call-1")
    assigned = call.assigned()
    outcome = dispatcher.handle(assigned).to_dict()
    assert outcome["action"] == "failed"
    assert outcome["error"] == text
    assert outcome["record"] is None
    assert [w.event_id for w in failed(dispatcher)] == [assigned["id"]]
    assert pending(dispatcher) == []
    assert stored_records(tmp_path) == []
    again = dispatcher.handle(assigned).to_dict()
    assert (again["action"], again["record"]) == ("duplicate", None)


def test_a_plugin_bug_fails_the_event_and_names_the_plugin(dispatch, crm, events):
    dispatcher = dispatch()
    crm.fail("create_record", KeyError("subject"))
    outcome = dispatcher.handle(events.call("call-1").assigned()).to_dict()
    assert outcome["action"] == "failed"
    assert "KeyError" in outcome["error"] and "flaky" in outcome["error"]


def test_a_failed_event_does_not_block_later_events_of_the_session(dispatch, crm, events, tmp_path):
    dispatcher = dispatch()
    crm.fail("create_record", PermanentCrmError("400: bad requester"))
    call = events.call("call-1")
    assert dispatcher.handle(call.assigned()).action == "failed"
    retry = dispatcher.handle(call.connected()).to_dict()
    assert retry["action"] == "created"
    assert len(stored_records(tmp_path)) == 1


def test_an_event_queued_behind_work_put_back_carries_the_sessions_record(dispatch, crm, events):
    """SPEC 2: once a session has a record, every later outcome for it carries that record — one
    queued behind the session's failed work, put back in the queue, too."""
    dispatcher = dispatch()
    crm.fail("create_record", PermanentCrmError("400: bad requester"))
    call = events.call("call-1")
    assert dispatcher.handle(call.assigned()).action == "failed"
    created = dispatcher.handle(call.connected())
    with dispatcher.store.transaction() as tx:
        tx.requeue_failed()
    queued = dispatcher.handle(call.ended())
    assert (queued.action, queued.record) == ("queued", created.record)


# --- unknown outcomes and lost responses -----------------------------------------------------------


def test_an_unknown_outcome_is_reconciled_without_a_second_create(dispatch, crm, events, tmp_path):
    dispatcher = dispatch()
    crm.fail("create_record", UnknownOutcomeError("read timed out after sending"), after=True)
    call = events.call("call-1")
    assigned, ended = call.assigned(), call.ended()
    assert dispatcher.handle(assigned).action == "queued"
    assert len(stored_records(tmp_path)) == 1  # the CRM did make it
    assert dispatcher.handle(ended).action == "queued"
    created, skipped = [o.to_dict() for o in dispatcher.retry_queued(now=AFTER_ANY_BACKOFF)]
    assert created["action"] == "created"
    assert "earlier attempt" in created["reason"]
    assert crm.calls["create_record"] == 1
    assert crm.calls["find_record_for_session"] == 1
    (record,) = stored_records(tmp_path)
    assert created["record"]["id"] == str(record.id)
    assert skipped["action"] == "skipped" and skipped["record"] == created["record"]


def test_an_unknown_outcome_that_made_nothing_is_retried_as_a_create(dispatch, crm, events, tmp_path):
    dispatcher = dispatch()
    crm.fail("create_record", UnknownOutcomeError("connection reset"))
    assert dispatcher.handle(events.call("call-1").assigned()).action == "queued"
    assert stored_records(tmp_path) == []
    (created,) = dispatcher.retry_queued(now=AFTER_ANY_BACKOFF)
    assert created.action == "created"
    assert crm.calls["find_record_for_session"] == 1
    assert crm.calls["create_record"] == 2
    assert len(stored_records(tmp_path)) == 1


def test_reconciling_while_the_crm_is_still_down_keeps_the_event_queued(dispatch, crm, events, tmp_path):
    dispatcher = dispatch()
    crm.fail("create_record", UnknownOutcomeError("timeout"), after=True)
    crm.fail("find_record_for_session", TransientCrmError("503"))
    assert dispatcher.handle(events.call("call-1").assigned()).action == "queued"
    assert [o.action for o in dispatcher.retry_queued(now=AFTER_ANY_BACKOFF)] == ["queued"]
    assert [o.action for o in dispatcher.retry_queued(now=AFTER_ANY_BACKOFF)] == ["created"]
    assert crm.calls["create_record"] == 1
    assert len(stored_records(tmp_path)) == 1


def test_a_lost_create_response_is_reconciled_when_the_event_is_redelivered(dispatch, crm, events, tmp_path):
    """The process died after the CRM made the record and before the outcome was stored."""
    dispatcher = dispatch()
    crm.fail("create_record", Crash(), after=True)
    assigned = events.call("call-1").assigned()
    with pytest.raises(Crash):
        dispatcher.handle(assigned)
    outcome = dispatcher.handle(assigned).to_dict()
    assert outcome["action"] == "created"
    assert crm.calls["create_record"] == 1
    (record,) = stored_records(tmp_path)
    assert outcome["record"]["id"] == str(record.id)


def test_a_lost_create_response_is_reconciled_by_the_sessions_next_event(dispatch, crm, events, tmp_path):
    dispatcher = dispatch()
    crm.fail("create_record", Crash(), after=True)
    call = events.call("call-1")
    with pytest.raises(Crash):
        dispatcher.handle(call.assigned())
    (record,) = stored_records(tmp_path)
    outcome = dispatcher.handle(call.ended()).to_dict()
    assert outcome["record"] is not None and outcome["record"]["id"] == str(record.id)


def test_a_failed_reconciliation_keeps_the_lost_create_pending_reconciliation(dispatch, crm, events, tmp_path):
    dispatcher = dispatch()
    crm.fail("create_record", UnknownOutcomeError("timeout"), after=True)
    crm.fail("find_record_for_session", PermanentCrmError("403: search not allowed"))
    call = events.call("call-1")
    assert dispatcher.handle(call.assigned()).action == "queued"
    assert [o.action for o in dispatcher.retry_queued(now=AFTER_ANY_BACKOFF)] == ["failed"]
    outcome = dispatcher.handle(call.connected()).to_dict()
    (record,) = stored_records(tmp_path)
    assert outcome["record"] is not None and outcome["record"]["id"] == str(record.id)
    assert crm.calls["create_record"] == 1
