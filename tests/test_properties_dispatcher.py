"""Property tests of the dispatcher with the ``local`` CRM (SPEC section 3, "Rules that always hold").

For any arrival order and any repetition of a few sessions' events, under random settings:
- one session never gets more than one record (a record it created, or a note on another's);
- once an outcome of a session carries a record, every later one carries the same record;
- an event that arrives again is answered ``duplicate`` and changes neither the store nor the CRM;
- every outcome is what :class:`SpecModel` (an independent reading of the SPEC) says.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from crmhub import Dispatcher
from crmhub.plugins import load_plugins
from tests.eventkit import local_settings
from tests.test_properties_rules import ANONYMOUS, SpecModel, interleavings, plan_events, record_settings, worlds

PLUGINS = load_plugins(environ={"CRMHUB_LOAD_PLUGINS": "builtin,local"})


def snapshot(folder: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the state store and of the local CRM, for before/after comparisons."""
    tables = {"state.db": ["sessions", "handled_events", "record_index", "work"], "records.db": ["records", "notes"]}
    return {table: rows(folder / name, f"SELECT * FROM {table}") for name, names in tables.items() for table in names}


def rows(path: Path, query: str) -> list[tuple[Any, ...]]:
    """The rows of a query, sorted; none while the file or its tables do not exist yet (the local
    CRM creates its file on first use)."""
    if not path.exists():
        return []
    conn = sqlite3.connect(path)
    try:
        return sorted(conn.execute(query).fetchall(), key=repr)
    except sqlite3.OperationalError as error:
        if "no such table" in str(error):
            return []
        raise
    finally:
        conn.close()


def records_per_session(folder: Path) -> dict[str, int]:
    """How many records each session got: records it created plus notes it added to others."""
    counts: dict[str, int] = {}
    query = "SELECT session_id FROM records UNION ALL SELECT session_id FROM notes"
    for (session_id,) in rows(folder / "records.db", query):
        counts[session_id] = counts.get(session_id, 0) + 1
    return counts


class Expectation:
    """The model's outcome per event, with rule 1 applied across sessions (no record is ever
    closed in these runs, so every record found for an end user and leaf queue is open)."""

    def __init__(self, rules: dict[str, Any], plans: list[Any]):
        self.rules = rules
        self.model = SpecModel(rules)
        self.plans = {plan.session_id: plan for plan in plans}
        self.seen: set[str] = set()
        self.owner: dict[str, str] = {}  # session → the session whose record it is on
        self.first_of: dict[tuple[int, str], str] = {}  # (end user, queue) → the session that created

    def action(self, event: dict[str, Any]) -> str:
        if event["id"] in self.seen:
            return "duplicate"
        self.seen.add(event["id"])
        verdict, _ = self.model.step(event)
        if verdict != "record":
            return "deferred" if verdict == "defer" else "skipped"
        sid = event["session"]["id"]
        plan = self.plans[sid]
        if self.rules["append_to_open_record"] and plan.user != ANONYMOUS:
            first = self.first_of.setdefault((plan.user, plan.queue), sid)
            self.owner[sid] = first
            return "created" if first == sid else "appended"
        self.owner[sid] = sid
        return "created"


def run(folder: Path, rules: dict[str, Any], plans: list[Any], arrivals: list[dict[str, Any]]) -> None:
    expectation = Expectation(rules, plans)
    record_of: dict[str, str] = {}
    with Dispatcher.from_config(local_settings(folder, **rules), plugins=PLUGINS, environ={}) as dispatcher:
        for event in arrivals:
            before = snapshot(folder) if event["id"] in expectation.seen else None
            expected = expectation.action(event)
            outcome = dispatcher.handle(event).to_dict()
            sid = event["session"]["id"]
            assert outcome["action"] == expected, (event["type"], sid, outcome["reason"])
            if before is not None:
                assert snapshot(folder) == before
            record = outcome["record"]
            if expected in ("created", "appended"):
                record_of[sid] = record["id"]
                owner = expectation.owner[sid]
                assert record["id"] == record_of[owner]
            if sid in record_of:
                assert record is not None and record["id"] == record_of[sid]
            else:
                assert record is None
    per_session = records_per_session(folder)
    assert all(count <= 1 for count in per_session.values()), per_session
    assert set(per_session) == set(record_of)


@settings(max_examples=120, deadline=None)
@given(plans=worlds(), rules=record_settings, data=st.data())
def test_any_order_and_repetition_keeps_one_record_per_session(plans, rules, data):
    by_session = plan_events(plans)
    arrivals = data.draw(st.permutations([e for events in by_session.values() for e in events]))
    repeats = data.draw(st.lists(st.integers(0, max(len(arrivals) - 1, 0)), max_size=6))
    for index in repeats:
        if arrivals:
            position = data.draw(st.integers(index + 1, len(arrivals)))
            arrivals.insert(position, arrivals[index])
    with tempfile.TemporaryDirectory() as folder:
        run(Path(folder), rules, plans, arrivals)


@settings(max_examples=60, deadline=None)
@given(plans=worlds(), rules=record_settings, data=st.data())
def test_natural_order_gives_records_to_exactly_the_sessions_the_spec_says(plans, rules, data):
    arrivals = data.draw(interleavings(plan_events(plans)))
    with tempfile.TemporaryDirectory() as folder:
        run(Path(folder), rules, plans, arrivals)
        model = SpecModel(rules)
        for event in arrivals:
            model.step(event)
        expected = {sid for sid, session in model.sessions.items() if session.has_record}
        assert set(records_per_session(Path(folder))) == expected


@settings(max_examples=40, deadline=None)
@given(plans=worlds(max_sessions=3), rules=record_settings, data=st.data())
def test_redelivering_everything_afterwards_changes_nothing(plans, rules, data):
    by_session = plan_events(plans)
    arrivals = data.draw(interleavings(by_session))
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        with Dispatcher.from_config(local_settings(folder, **rules), plugins=PLUGINS, environ={}) as dispatcher:
            firsts = [dispatcher.handle(event).to_dict() for event in arrivals]
            before = snapshot(folder)
            last_record = {o["session_id"]: o["record"] for o in firsts}
            for event in data.draw(st.permutations(arrivals)):
                again = dispatcher.handle(event).to_dict()
                assert again["action"] == "duplicate"
                assert again["record"] == last_record[event["session"]["id"]]
            assert snapshot(folder) == before
