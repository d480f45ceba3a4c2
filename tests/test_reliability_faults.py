"""Each CRM fault through the Dispatcher and the ``zendesk`` plugin against the fake Zendesk:
the event is queued (or failed, for 401), nothing is lost, and after ``retry_queued`` every
session has exactly one ticket."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from crmhub import Dispatcher
from tests.eventkit import EventFactory
from tests.fake_crm import FakeZendesk
from tests.reliability_report import count

pytest.importorskip("crmhub_zendesk")

AFTER_ANY_BACKOFF = datetime(2100, 1, 1, tzinfo=timezone.utc)
TOKEN_ENV = {"ZENDESK_API_TOKEN": "fake-token-for-tests"}


def zendesk_settings(tmp_path: Path, base_url: str, timeout: float = 5.0) -> dict[str, Any]:
    return {
        "crm": {"plugin": "zendesk", "zendesk": {
            "base_url": base_url, "email": "agent@example.com", "api_token": "env:ZENDESK_API_TOKEN",
            "timeout_seconds": timeout,
        }},
        "record_creation": {"append_to_open_record": True},
        "store": {"url": f"sqlite:///{tmp_path / 'state.db'}"},
    }


@pytest.fixture
def fake() -> Iterator[FakeZendesk]:
    with FakeZendesk() as server:
        yield server


@pytest.fixture
def dispatcher(tmp_path, fake) -> Iterator[Dispatcher]:
    with Dispatcher.from_config(zendesk_settings(tmp_path, fake.base_url, timeout=1.0), environ=TOKEN_ENV) as made:
        yield made


FAULTS = [
    pytest.param("rate_limit", {"retry_after": 7}, "queued", id="429-retry-after"),
    pytest.param("unavailable", {"times": 3}, "queued", id="503-burst"),
    pytest.param("server_error", {"times": 2}, "queued", id="500-burst"),
    pytest.param("delay", {"seconds": 3}, "queued", id="timeout"),
    pytest.param("commit_then_drop", {}, "queued", id="commit-then-drop"),
    pytest.param("unauthorized", {}, "failed", id="401"),
]


@pytest.mark.parametrize("kind, options, first_action", FAULTS)
def test_a_fault_loses_nothing_and_duplicates_nothing(dispatcher, fake, kind, options, first_action):
    events = EventFactory()
    call = events.call("call-1")
    fault = fake.fault(kind, **options)
    first = dispatcher.handle(call.assigned()).to_dict()
    assert first["action"] == first_action, first
    if kind == "rate_limit":
        assert first["retry_after"] == 7
    outcomes = [first]
    for _ in range(5):  # bounded: every burst above is shorter
        if first_action == "failed":
            with dispatcher.store.transaction() as tx:
                tx.requeue_failed()
        retried = dispatcher.retry_queued(now=AFTER_ANY_BACKOFF)
        outcomes += [o.to_dict() for o in retried]
        if dispatcher.session("call-1").queued_events == 0 and retried and retried[-1].action != "failed":
            break
    fault.released.set()
    final = outcomes[-1]
    assert final["action"] == "created", outcomes
    (ticket,) = fake.tickets_of_session("call-1")
    assert final["record"]["id"] == str(ticket["id"])
    assert dispatcher.session("call-1").to_dict()["record"]["id"] == str(ticket["id"])
    ended = dispatcher.handle(call.ended()).to_dict()
    assert (ended["action"], ended["record"]["id"]) == ("skipped", str(ticket["id"]))
    assert len(fake.tickets) == 1
    count("faults", events=2, faults=sum(fake.faults_injected.values()), records_expected=1,
          records_found=len(fake.tickets), duplicates=len(fake.tickets) - 1,
          lost=0 if fake.tickets_of_session("call-1") else 1)


def test_a_fault_on_an_append_is_retried_into_the_same_ticket(dispatcher, fake):
    events = EventFactory()
    first = dispatcher.handle(events.call("call-1").assigned()).to_dict()
    fake.fault("commit_then_drop", "PUT /api/v2/tickets/")
    second = events.call("call-2")
    assert dispatcher.handle(second.assigned()).action == "queued"
    (retried,) = dispatcher.retry_queued(now=AFTER_ANY_BACKOFF)
    assert (retried.action, retried.record.id) == ("appended", first["record"]["id"])
    assert len(fake.tickets) == 1
