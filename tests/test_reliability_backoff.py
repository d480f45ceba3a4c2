"""Backoff of queued work: exponential with full jitter, never before the CRM's Retry-After,
and ``retry_queued`` runs only the work that is due (wall clock; the rules keep event time)."""

from __future__ import annotations

import random
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from crmhub.core.backoff import Backoff
from crmhub.core.errors import PermanentCrmError, TransientCrmError
from crmhub.core.store import open_store
from tests.eventkit import EventFactory
from tests.flaky_crm import crm, dispatchers, pending, plugins  # noqa: F401 -- crm and plugins are fixtures

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Highest(random.Random):
    """Jitter that always draws the top of its range: the longest wait backoff allows."""

    def uniform(self, a: float, b: float) -> float:
        return b


@pytest.mark.parametrize("attempt, ceiling", [(1, 1.0), (2, 2.0), (3, 4.0), (9, 256.0), (10, 300.0), (5000, 300.0)])
def test_the_wait_grows_exponentially_up_to_the_cap(attempt, ceiling):
    assert Backoff(rng=Highest()).delay(attempt) == ceiling
    jittered = Backoff(rng=random.Random(7))
    draws = [jittered.delay(attempt) for _ in range(200)]
    assert all(0.0 <= d <= ceiling for d in draws)
    assert len(set(draws)) > 100  # full jitter: spread over the range, not one fixed wait


def test_the_wait_is_never_shorter_than_retry_after():
    backoff = Backoff(rng=random.Random(1))
    assert all(backoff.delay(1, retry_after=30) == 30 for _ in range(50))
    assert Backoff(rng=Highest()).delay(10, retry_after=30) == 300.0
    assert backoff.due(NOW, 1, retry_after=12) == NOW + timedelta(seconds=12)


def test_nonsense_settings_are_refused():
    with pytest.raises(ValueError):
        Backoff(factor=0.5)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def timed_dispatch(tmp_path, plugins, clock):
    with dispatchers(tmp_path, plugins, backoff=Backoff(rng=Highest()), clock=clock) as make:
        yield make


def test_queued_work_waits_for_its_backoff_then_runs(timed_dispatch, crm, clock):
    dispatcher = timed_dispatch()
    crm.fail("create_record", TransientCrmError("503"), times=2)
    call = EventFactory().call("call-1")
    assert dispatcher.handle(call.assigned()).action == "queued"
    assert dispatcher.handle(call.ended()).action == "queued"
    head, behind = pending(dispatcher)
    assert (head.not_before, behind.not_before) == (NOW + timedelta(seconds=1), None)
    assert dispatcher.next_due() == NOW + timedelta(seconds=1)

    assert dispatcher.retry_queued() == []  # not due: the session waits whole, in order
    assert crm.calls["create_record"] == 1
    clock.advance(1)
    assert [o.action for o in dispatcher.retry_queued()] == ["queued"]  # second failure: wait 2 s
    assert pending(dispatcher)[0].not_before == clock.now + timedelta(seconds=2)
    clock.advance(1.5)
    assert dispatcher.retry_queued() == []
    clock.advance(0.5)
    assert [o.action for o in dispatcher.retry_queued()] == ["created", "skipped"]
    assert dispatcher.next_due() is None


def test_retry_after_of_the_crm_sets_the_earliest_retry(timed_dispatch, crm, clock):
    dispatcher = timed_dispatch()
    crm.fail("create_record", TransientCrmError("429 rate limited", retry_after=45))
    outcome = dispatcher.handle(EventFactory().call("call-1").assigned()).to_dict()
    assert (outcome["action"], outcome["retry_after"]) == ("queued", 45)
    (item,) = pending(dispatcher)
    assert item.not_before == NOW + timedelta(seconds=45)
    assert dispatcher.retry_queued(now=NOW + timedelta(seconds=44)) == []
    assert [o.action for o in dispatcher.retry_queued(now=NOW + timedelta(seconds=45))] == ["created"]


def test_a_session_not_due_does_not_hold_up_a_due_one(timed_dispatch, crm, clock):
    dispatcher = timed_dispatch()
    events = EventFactory()
    crm.fail("create_record", TransientCrmError("429", retry_after=60))
    crm.fail("create_record", TransientCrmError("503"))
    assert dispatcher.handle(events.call("call-1").assigned()).action == "queued"
    assert dispatcher.handle(events.call("call-2").assigned()).action == "queued"
    clock.advance(1)
    assert [(o.session_id, o.action) for o in dispatcher.retry_queued()] == [("call-2", "created")]
    assert dispatcher.next_due() == NOW + timedelta(seconds=60)


def test_a_store_file_made_before_backoff_gains_the_column(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:
        old.executescript(
            "CREATE TABLE work (seq INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL,"
            " event_id TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,"
            " attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT);"
            "INSERT INTO work (session_id, event_id, event, status, attempts, last_error)"
            " VALUES ('s-1', 'e-1', '{\"id\": \"e-1\"}', 'pending', 1, 'timeout');"
        )
    old.close()
    store = open_store(f"sqlite:///{path}")
    try:
        with store.transaction() as tx:
            (kept,) = tx.pending_work()
            assert (kept.event_id, kept.not_before) == ("e-1", None)
            tx.retry_later(kept.seq, "timeout", not_before=NOW)
        with store.transaction() as tx:
            assert tx.pending_work()[0].not_before == NOW
    finally:
        store.close()


def test_a_permanent_failure_is_not_delayed(timed_dispatch, crm):
    dispatcher = timed_dispatch()
    crm.fail("create_record", PermanentCrmError("422"))
    assert dispatcher.handle(EventFactory().call("call-1").assigned()).action == "failed"
    with dispatcher.store.transaction() as tx:
        (item,) = tx.failed_work()
    assert (item.status, item.not_before) == ("failed", None)
    assert pending(dispatcher) == []
