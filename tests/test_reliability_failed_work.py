"""Failed work put back in the queue is applied once: a permanent refusal leaves the session as it
was before the event, so a retried event is neither lost nor counted twice, and it makes no second
record for a session that got one meanwhile."""

from __future__ import annotations

from datetime import datetime, timezone
import pytest

from crmhub import Dispatcher
from crmhub.core.errors import PermanentCrmError
from tests.eventkit import EventFactory
from tests.flaky_crm import crm, dispatchers, pending, plugins, stored_records  # noqa: F401 -- crm, plugins: fixtures

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
def dispatch(tmp_path, plugins):
    with dispatchers(tmp_path, plugins, clock=lambda: NOW) as make:
        yield make


def requeue_all(dispatcher: Dispatcher) -> list[int]:
    with dispatcher.store.transaction() as tx:
        return tx.requeue_failed()


def test_a_refused_message_is_counted_once_when_retried(dispatch, crm):
    dispatcher = dispatch(delay_chat_until_consumer_messages=2)
    chat = EventFactory().chat("chat-1")
    assert [dispatcher.handle(e).action for e in (chat.assigned(), chat.message())] == ["deferred", "deferred"]
    crm.fail("create_record", PermanentCrmError("422: invalid requester"))
    assert dispatcher.handle(chat.message()).action == "failed"
    assert dispatcher.session("chat-1").to_dict()["consumer_messages"] == 1  # the refused event is not applied
    assert len(requeue_all(dispatcher)) == 1
    (retried,) = dispatcher.retry_queued()
    assert retried.action == "created"
    status = dispatcher.session("chat-1").to_dict()
    assert (status["consumer_messages"], status["queued_events"]) == (2, 0)


def test_later_events_go_on_and_a_retried_failure_then_makes_no_second_record(dispatch, crm, tmp_path):
    dispatcher = dispatch()
    call = EventFactory().call("call-1")
    crm.fail("create_record", PermanentCrmError("400: bad requester"))
    assert dispatcher.handle(call.assigned()).action == "failed"
    created = dispatcher.handle(call.connected())
    assert created.action == "created"
    requeue_all(dispatcher)
    (retried,) = dispatcher.retry_queued()
    assert (retried.action, retried.record) == ("skipped", created.record)
    assert len(stored_records(tmp_path)) == 1
    assert pending(dispatcher) == []
    assert crm.calls["create_record"] == 2
