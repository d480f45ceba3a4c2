"""The state store contract (crmhub.core.store), run against every backend.

A backend is added by one more fixture named in ``BACKENDS``: it gives an object that opens a store
(again, on the same data, for the reopening test) and says how its durability settings are checked.
The PostgreSQL backend needs a server (see ``tests/pg_server.py``): without one its tests skip,
except under CI.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from crmhub.core.models import CrmRecord
from crmhub.core.rules import SessionState
from crmhub.core.store import Arrival, Store, open_store
from tests.threads import run_in_threads
from tests.pg_server import fresh_schema

AT = datetime(2026, 11, 25, 9, 30, 5, tzinfo=timezone.utc)


class SQLiteBackend:
    """A store in a SQLite file under the test's temporary folder."""

    def __init__(self, tmp_path: Path):
        self.path = tmp_path / "state" / "crmhub.db"
        self.url = f"sqlite:///{self.path}"

    def open(self) -> Store:
        return open_store(self.url)

    def assert_durable(self, store: Store) -> None:
        """WAL journal and ``synchronous=FULL`` on the connection the store writes with."""
        with sqlite3.connect(self.path) as probe:
            assert probe.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        results: list[tuple[str, int]] = []

        def inspect() -> None:  # a fresh thread gets a fresh connection from the store
            with store.transaction() as tx:
                conn = tx._conn  # the backend's own connection: no public accessor exists
                journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
                results.append((journal, conn.execute("PRAGMA synchronous").fetchone()[0]))

        inspect()
        worker = threading.Thread(target=inspect)
        worker.start()
        worker.join(timeout=30)
        assert results == [("wal", 2), ("wal", 2)]  # 2 = FULL


class PostgresBackend:
    """A store in a fresh schema of the test server, whose connections default to
    ``synchronous_commit=off``: the store must turn it on."""

    def __init__(self, url: str):
        self.url = url

    def open(self) -> Store:
        return open_store(self.url)

    def assert_durable(self, store: Store) -> None:
        """``synchronous_commit`` on, on the connection of every thread that writes."""
        import psycopg

        with psycopg.connect(self.url) as probe:
            assert probe.execute("SHOW synchronous_commit").fetchone()[0] == "off"
        results: list[str] = []

        def inspect() -> None:  # a fresh thread gets a fresh connection from the store
            with store.transaction() as tx:
                results.append(tx._conn.execute("SHOW synchronous_commit").fetchone()[0])

        inspect()
        worker = threading.Thread(target=inspect)
        worker.start()
        worker.join(timeout=30)
        assert results == ["on", "on"]


@pytest.fixture
def sqlite_backend(tmp_path):
    return SQLiteBackend(tmp_path)


@pytest.fixture
def postgres_backend():
    with fresh_schema(synchronous_commit="off") as url:
        yield PostgresBackend(url)


BACKENDS = [pytest.param("sqlite_backend", id="sqlite"), pytest.param("postgres_backend", id="postgresql")]


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.getfixturevalue(request.param)


@pytest.fixture
def store(backend):
    opened = backend.open()
    yield opened
    opened.close()


def full_state() -> SessionState:
    record = CrmRecord(
        crm="zendesk",
        id="4016",
        status="closed",
        crm_status="solved",
        url="https://acme.zendesk.com/agent/tickets/4016",
        closed_at=AT - timedelta(days=1),
        created_at=AT - timedelta(days=3),
        leaf_queue_id="q-42",
        follow_up_of="4001",
    )
    return SessionState(
        session_fields={
            "id": "call-1001",
            "channel": "call",
            "end_user": {"id": "u-7", "email": "ada@example.com"},
            "leaf_queue": {"id": "q-42", "path": ["Support", "Billing"]},
            "started_at": "2026-11-25T09:29:40Z",
            "custom": {"nested": [1, 2]},
        },
        assigned=True,
        connected=True,
        consumer_messages=3,
        finished="ended",
        record=record,
        first_event_at=AT.astimezone(timezone(timedelta(hours=2))),
        in_flight=True,
    )


class TestStoreContract:
    def test_a_session_round_trips_with_its_record(self, store):
        state = full_state()
        with store.transaction() as tx:
            assert tx.get_session("call-1001") is None
            tx.put_session("call-1001", state)
        with store.transaction() as tx:
            loaded = tx.get_session("call-1001")
        assert loaded == state
        assert loaded.record == state.record
        assert loaded.first_event_at.utcoffset() == timedelta(hours=2)

    def test_a_session_without_record_round_trips_and_put_replaces(self, store):
        first = SessionState(session_fields={"id": "chat-1", "channel": "chat"})
        second = SessionState(session_fields={"id": "chat-1", "channel": "chat"}, assigned=True, consumer_messages=1)
        with store.transaction() as tx:
            tx.put_session("chat-1", first)
        with store.transaction() as tx:
            assert tx.get_session("chat-1") == first
            tx.put_session("chat-1", second)
        with store.transaction() as tx:
            assert tx.get_session("chat-1") == second

    def test_event_ids_remember_their_first_outcome(self, store):
        outcome = {"event_id": "e-1", "session_id": "s-1", "action": "created", "record": {"id": "1"}, "reason": "r"}
        with store.transaction() as tx:
            assert tx.handled_outcome("e-1") is None
            tx.mark_handled("e-1", "s-1", outcome)
        with store.transaction() as tx:
            assert tx.handled_outcome("e-1") == outcome
            assert tx.handled_outcome("e-2") is None

    def test_arrival_answers_the_three_questions_of_a_new_event_at_once(self, store):
        with store.transaction() as tx:
            assert tx.arrival("e-1", "call-1001") == Arrival(None, False, None)
            tx.put_session("call-1001", full_state())
            tx.mark_handled("e-1", "call-1001", {"action": "created"})
            tx.enqueue("call-1001", "e-2", {"id": "e-2"}, error="timeout")
            tx.enqueue("call-2", "e-3", {"id": "e-3"}, error="refused", status="failed")
        with store.transaction() as tx:
            assert tx.arrival("e-1", "call-1001") == Arrival({"action": "created"}, True, full_state())
            assert tx.arrival("e-9", "call-2") == Arrival(None, False, None)  # failed work does not hold a session

    def test_marking_an_event_again_updates_its_outcome(self, store):
        with store.transaction() as tx:
            tx.mark_handled("e-1", "s-1", {"action": "queued"})
            tx.mark_handled("e-1", "s-1", {"action": "created"})
        with store.transaction() as tx:
            assert tx.handled_outcome("e-1") == {"action": "created"}

    def test_the_record_index_keeps_the_newest_record_per_end_user_and_queue(self, store):
        with store.transaction() as tx:
            assert tx.latest_record("id:u-1", "q-1") is None
            tx.remember_record("id:u-1", "q-1", "r-1", AT)
            tx.remember_record("id:u-1", "q-2", "r-2", AT)
            tx.remember_record("id:u-2", "q-1", "r-3", AT)
        with store.transaction() as tx:
            tx.remember_record("id:u-1", "q-1", "r-4", AT + timedelta(minutes=5))
        with store.transaction() as tx:
            assert tx.latest_record("id:u-1", "q-1") == "r-4"
            assert tx.latest_record("id:u-1", "q-2") == "r-2"
            assert tx.latest_record("id:u-2", "q-1") == "r-3"
            assert tx.latest_record("id:u-2", "q-2") is None

    def test_work_is_kept_in_arrival_order_per_session(self, store):
        with store.transaction() as tx:
            tx.enqueue("s-1", "e-1", {"id": "e-1"}, "timeout")
            tx.enqueue("s-2", "e-2", {"id": "e-2"}, "timeout")
            tx.enqueue("s-1", "e-3", {"id": "e-3", "deep": {"k": [1]}}, "")
        with store.transaction() as tx:
            assert [w.event_id for w in tx.pending_work("s-1")] == ["e-1", "e-3"]
            assert [w.event_id for w in tx.pending_work("s-2")] == ["e-2"]
            assert [w.event_id for w in tx.pending_work()] == ["e-1", "e-2", "e-3"]
            first, _, third = tx.pending_work()
        assert (first.session_id, first.status, first.attempts, first.last_error) == ("s-1", "pending", 1, "timeout")
        assert (third.attempts, third.last_error) == (0, None)
        assert third.event == {"id": "e-3", "deep": {"k": [1]}}
        assert first.seq < third.seq

    def test_pending_and_failed_work_are_kept_apart(self, store):
        with store.transaction() as tx:
            tx.enqueue("s-1", "e-1", {"id": "e-1"}, "validation error", status="failed")
            tx.enqueue("s-2", "e-2", {"id": "e-2"}, "timeout")
        with store.transaction() as tx:
            assert not tx.has_pending("s-1")
            assert tx.has_pending("s-2")
            assert [w.event_id for w in tx.pending_work()] == ["e-2"]
            (failed,) = tx.failed_work()
        assert (failed.event_id, failed.status, failed.last_error) == ("e-1", "failed", "validation error")

    def test_finish_removes_work_and_retry_later_counts_attempts(self, store):
        with store.transaction() as tx:
            tx.enqueue("s-1", "e-1", {"id": "e-1"}, "timeout")
            tx.enqueue("s-1", "e-2", {"id": "e-2"}, "")
            first, second = tx.pending_work("s-1")
        with store.transaction() as tx:
            tx.retry_later(first.seq, "rate limited")
            tx.retry_later(first.seq, "rate limited again")
        with store.transaction() as tx:
            again, _ = tx.pending_work("s-1")
            assert (again.seq, again.attempts, again.last_error) == (first.seq, 3, "rate limited again")
            tx.retry_later(second.seq, "refused", status="failed")
        with store.transaction() as tx:
            assert [w.event_id for w in tx.pending_work("s-1")] == ["e-1"]
            assert [(w.event_id, w.attempts) for w in tx.failed_work()] == [("e-2", 1)]
            tx.finish_work(first.seq)
            tx.finish_work(second.seq)
        with store.transaction() as tx:
            assert not tx.has_pending("s-1")
            assert tx.pending_work() == [] and tx.failed_work() == []

    def test_claiming_pending_work_takes_each_session_from_its_oldest_item(self, store):
        with store.transaction() as tx:
            tx.enqueue("s-1", "e-1", {"id": "e-1"}, "timeout")
            tx.enqueue("s-2", "e-2", {"id": "e-2"}, "")
            tx.enqueue("s-3", "e-3", {"id": "e-3"}, "refused", status="failed")
            tx.enqueue("s-1", "e-4", {"id": "e-4", "deep": {"k": [1]}}, "")
            tx.enqueue("s-3", "e-5", {"id": "e-5"}, "")
        with store.transaction() as tx:
            everything = tx.claim_pending(10)
            assert [w.event_id for w in everything] == ["e-1", "e-2", "e-4", "e-5"]
            assert [w.event_id for w in tx.claim_pending(3)] == ["e-1", "e-2", "e-4"]
            assert [w.event_id for w in tx.claim_pending(1)] == ["e-1"]
            assert tx.claim_pending(0) == []
            assert tx.pending_work() == everything
        assert (everything[2].session_id, everything[2].event, everything[0].attempts) == (
            "s-1", {"id": "e-4", "deep": {"k": [1]}}, 1
        )

    def test_work_keeps_when_it_is_due_again(self, store):
        later = AT + timedelta(seconds=90)
        with store.transaction() as tx:
            tx.enqueue("s-1", "e-1", {"id": "e-1"}, "rate limited", not_before=later)
            tx.enqueue("s-1", "e-2", {"id": "e-2"}, "")
        with store.transaction() as tx:
            first, second = tx.pending_work("s-1")
            assert (first.not_before, second.not_before) == (later, None)
            assert first.not_before.utcoffset() == timedelta(0)
            tx.retry_later(first.seq, "rate limited", not_before=AT.astimezone(timezone(timedelta(hours=-5))))
            tx.retry_later(second.seq, "refused", status="failed")
        with store.transaction() as tx:
            (again,) = tx.claim_pending(5)
            (refused,) = tx.failed_work()
        assert (again.not_before, again.attempts) == (AT, 2)
        assert refused.not_before is None

    def test_failed_work_can_be_put_back_in_the_queue_due_at_once(self, store):
        with store.transaction() as tx:
            tx.enqueue("s-1", "e-1", {"id": "e-1"}, "refused", status="failed")
            tx.enqueue("s-2", "e-2", {"id": "e-2"}, "refused", status="failed")
            tx.enqueue("s-1", "e-3", {"id": "e-3"}, "timeout", not_before=AT)
            tx.enqueue("s-3", "e-4", {"id": "e-4"}, "refused", status="failed")
            seqs = {w.event_id: w.seq for w in tx.pending_work() + tx.failed_work()}
            first, second, pending, third = seqs["e-1"], seqs["e-2"], seqs["e-3"], seqs["e-4"]
        with store.transaction() as tx:
            assert tx.requeue_failed(pending) == []  # only failed items move
            assert tx.requeue_failed(first) == [first]
            assert [w.event_id for w in tx.pending_work("s-1")] == ["e-1", "e-3"]  # its place kept
        with store.transaction() as tx:
            assert tx.requeue_failed() == sorted([second, third])
            assert tx.failed_work() == []
            moved = tx.pending_work()
        assert [(w.event_id, w.not_before, w.attempts, w.last_error) for w in moved] == [
            ("e-1", None, 1, "refused"), ("e-2", None, 1, "refused"), ("e-3", AT, 1, "timeout"),
            ("e-4", None, 1, "refused"),
        ]

    def test_dropped_work_is_gone(self, store):
        with store.transaction() as tx:
            tx.enqueue("s-1", "e-1", {"id": "e-1"}, "refused", status="failed")
            tx.enqueue("s-1", "e-2", {"id": "e-2"}, "timeout")
            failed_seq, pending_seq = tx.failed_work()[0].seq, tx.pending_work()[0].seq
        with store.transaction() as tx:
            assert tx.drop_work(failed_seq) and tx.drop_work(pending_seq)
            assert not tx.drop_work(failed_seq)
        with store.transaction() as tx:
            assert tx.pending_work() == [] and tx.failed_work() == [] and not tx.has_pending("s-1")

    def test_claimed_work_can_be_finished_in_the_same_transaction(self, store):
        with store.transaction() as tx:
            tx.enqueue("s-1", "e-1", {"id": "e-1"}, "timeout")
            tx.enqueue("s-1", "e-2", {"id": "e-2"}, "")
        with store.transaction() as tx:
            first, second = tx.claim_pending(5)
            tx.finish_work(first.seq)
            tx.retry_later(second.seq, "rate limited")
        with store.transaction() as tx:
            (left,) = tx.claim_pending(5)
        assert (left.event_id, left.attempts, left.last_error) == ("e-2", 1, "rate limited")

    def test_json_with_any_character_round_trips(self, store):
        text = "nul \u0000, quote \", backslash \\, emoji \U0001f600, accents éà"
        state = SessionState(session_fields={"id": "chat-0", "channel": "chat", "note": text})
        with store.transaction() as tx:
            tx.put_session("chat-0", state)
            tx.mark_handled("e-0", "chat-0", {"action": "deferred", "reason": text})
            tx.enqueue("chat-0", "e-0", {"id": "e-0", "message": {"text": text}}, "")
        with store.transaction() as tx:
            assert tx.get_session("chat-0") == state
            assert tx.handled_outcome("e-0") == {"action": "deferred", "reason": text}
            assert tx.pending_work("chat-0")[0].event == {"id": "e-0", "message": {"text": text}}

    def test_a_transaction_that_raises_rolls_back_everything(self, store):
        with store.transaction() as tx:
            tx.put_session("s-0", SessionState(session_fields={"id": "s-0", "channel": "call"}))
        with pytest.raises(RuntimeError, match="boom"):
            with store.transaction() as tx:
                tx.put_session("s-1", full_state())
                tx.put_session("s-0", full_state())
                tx.mark_handled("e-1", "s-1", {"action": "created"})
                tx.remember_record("id:u-1", "q-1", "r-1", AT)
                tx.enqueue("s-1", "e-1", {"id": "e-1"}, "timeout")
                raise RuntimeError("boom")
        with store.transaction() as tx:
            assert tx.get_session("s-1") is None
            assert tx.get_session("s-0") == SessionState(session_fields={"id": "s-0", "channel": "call"})
            assert tx.handled_outcome("e-1") is None
            assert tx.latest_record("id:u-1", "q-1") is None
            assert tx.pending_work() == []

    def test_the_store_is_usable_after_a_rollback(self, store):
        with pytest.raises(KeyError):
            with store.transaction() as tx:
                tx.mark_handled("e-1", "s-1", {"action": "x"})
                raise KeyError("e-1")
        with store.transaction() as tx:
            tx.mark_handled("e-1", "s-1", {"action": "created"})
        with store.transaction() as tx:
            assert tx.handled_outcome("e-1") == {"action": "created"}

    def test_writes_are_durable(self, backend, store):
        backend.assert_durable(store)

    def test_concurrent_writers_do_not_lose_updates(self, store):
        threads, rounds = 4, 25
        with store.transaction() as tx:
            tx.put_session("counter", SessionState(session_fields={"id": "counter", "channel": "chat"}))

        def writer(number: int) -> None:
            for round_ in range(rounds):
                with store.transaction() as tx:
                    state = tx.get_session("counter")
                    tx.put_session(
                        "counter",
                        SessionState(session_fields=state.session_fields, consumer_messages=state.consumer_messages + 1),
                    )
                    tx.enqueue(f"s-{number}", f"e-{number}-{round_}", {"n": round_}, "")

        run_in_threads(writer, threads)
        with store.transaction() as tx:
            assert tx.get_session("counter").consumer_messages == threads * rounds
            assert len(tx.pending_work()) == threads * rounds
            for number in range(threads):
                assert [w.event["n"] for w in tx.pending_work(f"s-{number}")] == list(range(rounds))

    def test_a_session_that_does_not_exist_yet_is_created_once(self, store):
        """Getting a missing session locks it too: of the transactions that all find it missing
        and create it, only the first does; the others, waiting, find it made."""
        threads, sessions = 4, 10
        created: list[str] = []

        def creator(_: int) -> None:
            for number in range(sessions):
                session_id = f"chat-{number}"
                with store.transaction() as tx:
                    made = tx.get_session(session_id) is None
                    if made:
                        tx.put_session(session_id, SessionState(session_fields={"id": session_id, "channel": "chat"}))
                if made:
                    created.append(session_id)

        run_in_threads(creator, threads)
        assert sorted(created) == sorted(f"chat-{number}" for number in range(sessions))

    def test_an_advisory_lock_nests_and_is_released_even_by_an_error(self, store):
        with pytest.raises(RuntimeError, match="boom"):
            with store.advisory_lock("session:call-1"):
                with store.advisory_lock("session:call-1"):
                    raise RuntimeError("boom")
        taken: list[str] = []

        def other_thread() -> None:
            with store.advisory_lock("session:call-1"):
                taken.append("session:call-1")

        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join(timeout=120)
        assert taken == ["session:call-1"]

    def test_data_survives_reopening(self, backend):
        first = backend.open()
        with first.transaction() as tx:
            tx.put_session("call-1001", full_state())
            tx.mark_handled("e-1", "call-1001", {"action": "created"})
            tx.remember_record("id:u-7", "q-42", "4016", AT)
            tx.enqueue("call-1001", "e-2", {"id": "e-2"}, "timeout")
        first.close()
        second = backend.open()
        try:
            with second.transaction() as tx:
                assert tx.get_session("call-1001") == full_state()
                assert tx.handled_outcome("e-1") == {"action": "created"}
                assert tx.latest_record("id:u-7", "q-42") == "4016"
                assert [w.event_id for w in tx.pending_work("call-1001")] == ["e-2"]
        finally:
            second.close()


def test_an_unsupported_store_url_is_refused():
    with pytest.raises(ValueError, match="mysql://db"):
        open_store("mysql://db")
