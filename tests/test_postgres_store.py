"""What the PostgreSQL store adds to the store contract: locks that other connections see, claims
that skip each other, settings and URLs, dry-run copies, connections dropped by the server.

The contract itself runs against PostgreSQL in ``test_store_contract.py``. Here, threads stand for
crmhub instances: each thread has its own connections, so the server treats them exactly as it
treats other processes. Waits are observed in ``pg_locks`` rather than guessed with sleeps.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from crmhub.core.errors import SettingsError
from crmhub.core.rules import SessionState
from crmhub.core.settings import load_settings
from crmhub.core.store import Store, open_store
from tests.pg_server import fresh_schema

WAIT_SECONDS = 60
AT = datetime(2026, 11, 25, 9, 30, tzinfo=timezone.utc)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with fresh_schema() as url:
        yield url


@pytest.fixture
def store(postgres_url) -> Iterator[Store]:
    opened = open_store(postgres_url)
    yield opened
    opened.close()


def advisory_waiters(url: str) -> int:
    """How many connections of the test database wait for an advisory lock right now."""
    import psycopg

    with psycopg.connect(url) as probe:
        return probe.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ).fetchone()[0]


def wait_for_a_waiter(url: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while advisory_waiters(url) == 0:
        assert time.monotonic() < deadline, "nobody came to wait for the lock"
        time.sleep(0.01)


def in_thread(target) -> threading.Thread:
    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    return worker


def chat(session_id: str, **state: object) -> SessionState:
    return SessionState(session_fields={"id": session_id, "channel": "chat"}, **state)


# --- settings and URLs (no server needed) ---------------------------------------------------------


@pytest.mark.parametrize("url", ["postgresql://crmhub@db.example:5432/crmhub", "postgres://db.example/crmhub"])
def test_settings_accept_postgresql_store_urls(url):
    assert load_settings({"store": {"url": url}}, environ={}).store_url == url


def test_settings_name_both_kinds_of_store_url_when_refusing_one():
    with pytest.raises(SettingsError) as caught:
        load_settings({"store": {"url": "mysql://db"}}, environ={})
    assert caught.value.errors["store.url"] == ["must be sqlite:///PATH or postgresql://HOST/DATABASE"]


def test_without_psycopg_a_postgresql_store_is_a_settings_error_that_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg now fails
    monkeypatch.delitem(sys.modules, "crmhub.core.postgres_store", raising=False)
    with pytest.raises(SettingsError) as caught:
        open_store("postgresql://db.example/crmhub")
    assert caught.value.errors == {"store.url": ["a PostgreSQL store needs psycopg 3: pip install 'crmhub[postgres]'"]}


# --- the server ---------------------------------------------------------------------------------


def test_both_url_prefixes_open_the_same_store(postgres_url):
    from crmhub.core.postgres_store import PostgresStore

    first = open_store(postgres_url)
    second = open_store("postgres://" + postgres_url.removeprefix("postgresql://"))
    try:
        assert isinstance(second, PostgresStore)
        with first.transaction() as tx:
            tx.put_session("chat-1", chat("chat-1", assigned=True))
        with second.transaction() as tx:
            assert tx.get_session("chat-1") == chat("chat-1", assigned=True)
    finally:
        first.close()
        second.close()


def test_a_missing_session_held_by_one_transaction_makes_another_wait(store, postgres_url):
    found = threading.Event()
    release = threading.Event()
    seen: list[SessionState | None] = []

    def holder() -> None:
        with store.transaction() as tx:
            assert tx.get_session("chat-9") is None
            found.set()
            release.wait(WAIT_SECONDS)
            tx.put_session("chat-9", chat("chat-9", consumer_messages=1))

    def reader() -> None:
        with store.transaction() as tx:
            seen.append(tx.get_session("chat-9"))

    first = in_thread(holder)
    assert found.wait(WAIT_SECONDS)
    second = in_thread(reader)
    wait_for_a_waiter(postgres_url)
    assert seen == []
    release.set()
    first.join(WAIT_SECONDS)
    second.join(WAIT_SECONDS)
    assert seen == [chat("chat-9", consumer_messages=1)]


def test_claimed_sessions_are_skipped_by_other_transactions_until_released(store):
    with store.transaction() as tx:
        tx.enqueue("s-1", "e-1", {"id": "e-1"}, "timeout")
        tx.enqueue("s-2", "e-2", {"id": "e-2"}, "")
        tx.enqueue("s-1", "e-3", {"id": "e-3"}, "")
        tx.enqueue("s-3", "e-4", {"id": "e-4"}, "")
    claimed = threading.Event()
    release = threading.Event()
    held: list[str] = []

    def instance() -> None:  # claims s-1 only, through its oldest item, and finishes that item
        with store.transaction() as tx:
            (item,) = tx.claim_pending(1)
            held.append(item.event_id)
            claimed.set()
            release.wait(WAIT_SECONDS)
            tx.finish_work(item.seq)

    other = in_thread(instance)
    assert claimed.wait(WAIT_SECONDS)
    with store.transaction() as tx:  # s-1 is held: neither its oldest item nor its later one
        assert [w.event_id for w in tx.claim_pending(10)] == ["e-2", "e-4"]
    release.set()
    other.join(WAIT_SECONDS)
    with store.transaction() as tx:
        assert [w.event_id for w in tx.claim_pending(10)] == ["e-2", "e-3", "e-4"]
    assert held == ["e-1"]


def test_an_advisory_lock_keeps_other_connections_out_of_that_key_only(store, postgres_url):
    key = "end_user:id:u-7:q-42"
    held = threading.Event()
    release = threading.Event()
    order: list[str] = []

    def first() -> None:
        with store.advisory_lock(key):
            held.set()
            release.wait(WAIT_SECONDS)
            order.append("first done")

    def second() -> None:
        with store.advisory_lock(key):
            order.append("second in")

    def unrelated() -> None:
        with store.advisory_lock("end_user:id:u-8:q-42"):
            order.append("unrelated in")

    holder = in_thread(first)
    assert held.wait(WAIT_SECONDS)
    waiter = in_thread(second)
    wait_for_a_waiter(postgres_url)
    in_thread(unrelated).join(WAIT_SECONDS)
    assert order == ["unrelated in"]
    release.set()
    holder.join(WAIT_SECONDS)
    waiter.join(WAIT_SECONDS)
    assert order == ["unrelated in", "first done", "second in"]
    assert advisory_waiters(postgres_url) == 0


def test_connections_the_server_dropped_are_replaced(store, postgres_url):
    import psycopg

    with store.transaction() as tx:
        tx.put_session("chat-1", chat("chat-1"))
    with store.advisory_lock("session:chat-1"):
        pass
    with psycopg.connect(postgres_url) as admin:  # as a server restart or an idle timeout would
        dropped = admin.execute(
            "SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()[0]
    assert dropped == 2  # the transaction connection and the lock connection
    with store.advisory_lock("session:chat-1"):
        with store.transaction() as tx:
            assert tx.get_session("chat-1") == chat("chat-1")


def test_a_dry_run_copy_sees_the_data_and_writes_nothing_back(store, postgres_url):
    with store.transaction() as tx:
        tx.put_session("chat-1", chat("chat-1", assigned=True))
        tx.mark_handled("e-1", "chat-1", {"action": "deferred"})
        tx.remember_record("id:u-7", "q-42", "r-1", AT)
        tx.enqueue("chat-1", "e-2", {"id": "e-2"}, "timeout")
    copy = open_store(postgres_url, scratch_copy=True)
    try:
        with copy.transaction() as tx:
            assert tx.get_session("chat-1") == chat("chat-1", assigned=True)
            assert tx.handled_outcome("e-1") == {"action": "deferred"}
            assert tx.latest_record("id:u-7", "q-42") == "r-1"
            (item,) = tx.pending_work()
            assert (item.event_id, item.last_error) == ("e-2", "timeout")
            tx.put_session("chat-1", chat("chat-1", connected=True))
            tx.finish_work(item.seq)
            tx.mark_handled("e-3", "chat-1", {"action": "created"})
        folder = Path(copy.url.removeprefix("sqlite:///")).parent
    finally:
        copy.close()
    assert not folder.exists()
    with store.transaction() as tx:
        assert tx.get_session("chat-1") == chat("chat-1", assigned=True)
        assert tx.handled_outcome("e-3") is None
        assert [w.event_id for w in tx.pending_work()] == ["e-2"]


def test_a_dry_run_copy_of_a_store_never_used_creates_no_table(postgres_url):
    import psycopg

    copy = open_store(postgres_url, scratch_copy=True)
    try:
        with copy.transaction() as tx:
            assert tx.get_session("chat-1") is None
    finally:
        copy.close()
    with psycopg.connect(postgres_url) as probe:
        assert probe.execute("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()").fetchone()[0] == 0
