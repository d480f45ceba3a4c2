"""The dispatcher on a PostgreSQL store, with the built-in ``local`` CRM: one instance (threads,
queued work, dry runs), and two processes sharing the store.

Run as a script, this module is one of those two processes (see :func:`run_instance`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from crmhub import Dispatcher, local_crm
from crmhub.core.errors import TransientCrmError
from crmhub.core.hookspecs import hookimpl
from crmhub.local_records import LocalRecord, LocalRecords
from crmhub.plugins import LoadedPlugins, load_plugins
from tests.eventkit import EventFactory, end_user
from tests.pg_server import fresh_schema

AFTER_ANY_BACKOFF = datetime(2100, 1, 1, tzinfo=timezone.utc)  # every queued item is due by then

REPO = Path(__file__).resolve().parent.parent
WAIT_SECONDS = 60


class ScriptedLocalCrm:
    """The local CRM under the name ``scripted``; ``before(hook, session_id)`` runs before each call."""

    def __init__(self, before: Callable[[str, str], None]):
        self.before = before

    def _call(self, hook: str, session_id: str, work: Callable[..., Any], *args: Any) -> Any:
        self.before(hook, session_id)
        return work(*args)

    @hookimpl
    def crm_name(self) -> str:
        return "scripted"

    @hookimpl
    def crm_settings_schema(self) -> Any:
        return local_crm.LocalSettingsSchema()

    @hookimpl
    def crm_client(self, settings: Any, config_dir: Path) -> LocalRecords:
        return local_crm.crm_client(settings, config_dir)

    @hookimpl
    def find_open_record(self, client: LocalRecords, query: Any) -> Any:
        return self._call("find_open_record", query.session_id, local_crm.find_open_record, client, query)

    @hookimpl
    def create_record(self, client: LocalRecords, record: Any) -> Any:
        return self._call("create_record", record.session_id, local_crm.create_record, client, record)

    @hookimpl
    def append_session(self, client: LocalRecords, record: Any, note: Any) -> Any:
        return self._call("append_session", note.session.id, local_crm.append_session, client, record, note)

    @hookimpl
    def reopen(self, client: LocalRecords, record: Any, note: Any) -> Any:
        return self._call("reopen", note.session.id, local_crm.reopen, client, record, note)

    @hookimpl
    def find_record_for_session(self, client: LocalRecords, session_id: str) -> Any:
        return self._call(
            "find_record_for_session", session_id, local_crm.find_record_for_session, client, session_id
        )

    @hookimpl
    def format_tags(self, tags: list[str]) -> list[str]:
        return local_crm.format_tags(tags)


def scripted_plugins(before: Callable[[str, str], None]) -> LoadedPlugins:
    loaded = load_plugins(environ={"CRMHUB_LOAD_PLUGINS": "builtin"})
    loaded.pm.register(ScriptedLocalCrm(before), name="scripted")
    return loaded


def settings(folder: Path, store_url: str) -> dict[str, Any]:
    return {
        "crm": {"plugin": "scripted", "scripted": {"path": str(folder / "records.db")}},
        "store": {"url": store_url},
        "record_creation": {"append_to_open_record": True},
    }


def records_of(folder: Path, session_id: str) -> list[LocalRecord]:
    """The local records the session was created on or appended to."""
    return [
        record for record in LocalRecords(folder / "records.db").all()
        if record.session_id == session_id or session_id in [note["session_id"] for note in record.notes]
    ]


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with fresh_schema() as url:
        yield url


@pytest.fixture
def dispatch(tmp_path, postgres_url):
    """``dispatch(before=None, dry_run=False)`` → a dispatcher on the PostgreSQL store, closed afterwards."""
    opened: list[Dispatcher] = []

    def make(before: Callable[[str, str], None] = lambda hook, session_id: None, *, dry_run: bool = False) -> Dispatcher:
        dispatcher = Dispatcher.from_config(
            settings(tmp_path, postgres_url), plugins=scripted_plugins(before), environ={}, dry_run=dry_run
        )
        opened.append(dispatcher)
        return dispatcher

    yield make
    for dispatcher in opened:
        dispatcher.close()


# --- one instance -------------------------------------------------------------------------------


def test_records_are_created_appended_and_remembered_across_restarts(dispatch, tmp_path):
    events = EventFactory()
    first, second = events.call("call-1"), events.call("call-2")
    assigned = first.assigned()
    dispatcher = dispatch()
    created = dispatcher.handle(assigned).to_dict()
    appended = dispatcher.handle(second.assigned()).to_dict()
    assert (created["action"], appended["action"]) == ("created", "appended")
    assert appended["record"] == created["record"]
    dispatcher.close()

    restarted = dispatch()
    again = restarted.handle(assigned).to_dict()
    assert (again["action"], again["record"]) == ("duplicate", created["record"])
    assert restarted.handle(first.ended()).to_dict()["action"] == "skipped"
    status = restarted.session("call-2").to_dict()
    assert (status["record"], status["queued_events"]) == (created["record"], 0)
    assert restarted.session("call-404") is None
    (record,) = LocalRecords(tmp_path / "records.db").all()
    assert (record.session_id, [note["session_id"] for note in record.notes]) == ("call-1", ["call-2"])


def test_threads_of_one_instance_give_each_session_one_record(dispatch, tmp_path):
    events = EventFactory()
    sessions = [events.chat(f"chat-{n}", end_user=end_user(f"u-{n % 4}")) for n in range(16)]
    dispatcher = dispatch()

    def run(chat) -> list[str]:  # one session's events, in order
        return [dispatcher.handle(event).action for event in (chat.assigned(), chat.message(), chat.ended())]

    with ThreadPoolExecutor(max_workers=4) as pool:
        actions = list(pool.map(run, sessions))
    assert all(later == ["skipped", "skipped"] for _, *later in actions)
    assert sorted(first for first, *_ in actions) == ["appended"] * 12 + ["created"] * 4
    for chat in sessions:
        assert len(records_of(tmp_path, chat.id)) == 1
    assert len(LocalRecords(tmp_path / "records.db").all()) == 4  # one per end user


def test_work_queued_while_the_crm_is_down_is_retried_in_order(dispatch, tmp_path):
    events = EventFactory()
    call = events.call("call-1")
    down = True

    def before(hook: str, session_id: str) -> None:
        if down and hook == "create_record":
            raise TransientCrmError("503 Service Unavailable", retry_after=30)

    dispatcher = dispatch(before)
    outcomes = [dispatcher.handle(event).to_dict() for event in (call.assigned(), call.connected(), call.ended())]
    assert [o["action"] for o in outcomes] == ["queued", "queued", "queued"]
    assert dispatcher.session("call-1").queued_events == 3
    down = False
    retried = [outcome.to_dict() for outcome in dispatcher.retry_queued(now=AFTER_ANY_BACKOFF)]
    assert [(o["event_id"], o["action"]) for o in retried] == [
        (outcomes[0]["event_id"], "created"), (outcomes[1]["event_id"], "skipped"), (outcomes[2]["event_id"], "skipped")
    ]
    assert dispatcher.session("call-1").queued_events == 0
    assert len(records_of(tmp_path, "call-1")) == 1


def test_a_dry_run_decides_on_a_copy_of_the_postgresql_store(dispatch, tmp_path):
    events = EventFactory()
    known, new = events.call("call-1"), events.call("call-2", end_user=end_user("u-99"))
    assigned = known.assigned()
    dispatch().handle(assigned)
    dry = dispatch(dry_run=True)
    assert dry.handle(assigned).action == "duplicate"
    planned = dry.handle(new.assigned()).to_dict()
    assert (planned["action"], planned["dry_run"]) == ("created", True)
    assert [call["call"] for call in planned["calls"]] == ["create_record"]
    real = dispatch()
    assert real.session("call-2") is None
    assert [r.session_id for r in LocalRecords(tmp_path / "records.db").all()] == ["call-1"]


# --- two processes ------------------------------------------------------------------------------
#
# Two instances get the events of the same sessions at the same moment, in the two ways that can
# make a second record: one session's `assigned` and `connected` (both due a record), and two
# sessions of one end user in one leaf queue (the second due an append). Files in a shared folder
# choreograph them so that the race happens every time: `first` is inside its create call when
# `second` starts its event, and `first` goes on only once `second` has written to the CRM too (the
# race was lost) or waits for an advisory lock (the dispatcher serialises across processes).


def race_plan(events: EventFactory) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The events of ``first`` and of ``second``; each of second's names the session it races."""
    first: list[dict[str, Any]] = []
    second: list[dict[str, Any]] = []
    for n in range(2):
        call = events.call(f"call-{n}", end_user=end_user(f"u-{n}"))
        first.append({"event": call.assigned()})
        second.append({"event": call.connected(), "races": call.id})
        one, other = (events.call(f"{kind}-{n}", end_user=end_user(f"u-shared-{n}")) for kind in ("one", "other"))
        first.append({"event": one.assigned()})
        second.append({"event": other.assigned(), "races": one.id})
    return first, second


def wait_until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def advisory_lock_waiters(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as probe:
        return probe.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ).fetchone()[0]


def run_instance(role: str, folder: Path, store_url: str) -> None:
    """One process of the race: handle this role's events, write their outcomes to ROLE.out.json."""
    marks = folder / "marks"
    plan = json.loads((folder / f"{role}.json").read_text())
    racing: dict[str, str] = {}

    def before(hook: str, session_id: str) -> None:
        if role == "first" and hook == "create_record":
            (marks / f"creating-{session_id}").touch()
            # Either the other side has lost the race, or it waits on us: go on. (If it does
            # neither within the bound, it is not racing at all; going on is still right.)
            wait_until(
                lambda: (marks / f"written-{session_id}").exists() or advisory_lock_waiters(store_url) > 0, 20
            )
        if role == "second" and hook in ("create_record", "append_session", "reopen"):
            (marks / f"written-{racing['with']}").touch()

    outcomes = []
    with Dispatcher.from_config(settings(folder, store_url), plugins=scripted_plugins(before), environ={}) as dispatcher:
        for step in plan:
            if role == "second":
                racing["with"] = step["races"]
                if not wait_until(lambda: (marks / f"creating-{step['races']}").exists(), WAIT_SECONDS):
                    raise SystemExit(f"first never started creating a record for {step['races']}")
            outcomes.append(dispatcher.handle(step["event"]).to_dict())
    (folder / f"{role}.out.json").write_text(json.dumps(outcomes))


def test_two_processes_on_one_store_make_one_record_per_session(tmp_path, postgres_url):
    first_plan, second_plan = race_plan(EventFactory())
    (tmp_path / "marks").mkdir()
    (tmp_path / "first.json").write_text(json.dumps(first_plan))
    (tmp_path / "second.json").write_text(json.dumps(second_plan))
    environ = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    processes = {
        role: subprocess.Popen(
            [sys.executable, __file__, role, str(tmp_path), postgres_url],
            cwd=REPO, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for role in ("first", "second")
    }
    for role, process in processes.items():
        try:
            _, errors = process.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail(f"instance {role} did not finish")
        if process.returncode != 0:
            pytest.fail(f"instance {role} failed:\n{errors}")
    first = json.loads((tmp_path / "first.out.json").read_text())
    second = json.loads((tmp_path / "second.out.json").read_text())

    # The local CRM's create is idempotent per session (as Zendesk's Idempotency-Key is), so a lost
    # race on one session shows in the outcomes (`created` twice) rather than as a second record.
    for n in range(2):
        made = records_of(tmp_path, f"call-{n}")  # its assigned and connected, in two processes
        assert len(made) == 1
        assert first[2 * n]["record"]["id"] == second[2 * n]["record"]["id"] == str(made[0].id)
        shared = records_of(tmp_path, f"one-{n}")  # one end user's two sessions, in two processes
        assert len(shared) == 1
        assert records_of(tmp_path, f"other-{n}") == shared
    assert [o["action"] for o in first] == ["created"] * 4
    assert [o["action"] for o in second] == ["skipped", "appended"] * 2


if __name__ == "__main__":
    run_instance(sys.argv[1], Path(sys.argv[2]), sys.argv[3])
