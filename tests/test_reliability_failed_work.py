"""Failed work put back in the queue is applied once: a permanent refusal leaves the session as it
was before the event, so a retried event is neither lost nor counted twice, and it makes no second
record for a session that got one meanwhile."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from crmhub import Dispatcher
from crmhub.core.errors import PermanentCrmError
from crmhub.plugins import LoadedPlugins, load_plugins
from tests.eventkit import EventFactory
from tests.test_dispatcher_failures import FlakyCrm, pending, stored_records

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
def crm() -> FlakyCrm:
    return FlakyCrm()


@pytest.fixture
def dispatch(tmp_path, crm):
    plugins: LoadedPlugins = load_plugins(environ={"CRMHUB_LOAD_PLUGINS": "builtin"})
    plugins.pm.register(crm, name="flaky")
    opened: list[Dispatcher] = []

    def make(**record_creation: Any) -> Dispatcher:
        settings = {
            "crm": {"plugin": "flaky", "flaky": {"path": str(tmp_path / "records.db")}},
            "store": {"url": f"sqlite:///{tmp_path / 'state.db'}"},
            "record_creation": record_creation,
        }
        dispatcher = Dispatcher.from_config(settings, plugins=plugins, environ={}, clock=lambda: NOW)
        opened.append(dispatcher)
        return dispatcher

    yield make
    for dispatcher in opened:
        dispatcher.close()


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
