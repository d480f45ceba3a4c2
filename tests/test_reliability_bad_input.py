"""Bad input gets a clean error naming the problem, and nothing stored changes (SPEC section 9).

Fuzzed events through ``Dispatcher.handle`` (anything JSON can hold, and valid events with parts
broken), fuzzed settings through ``load_settings``, and a queue holding an event that no longer
reads as one, run by a real ``crmhub worker``: the worker fails that item with the reason and
goes on with the rest.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmhub import Dispatcher
from crmhub.core.errors import InvalidEvent, SettingsError
from crmhub.core.settings import load_settings
from crmhub.core.dispatcher import settings_schema_lookup
from crmhub.plugins import load_plugins
from tests.eventkit import ADA, REFUNDS, EventFactory, local_settings, with_part
from tests.test_reliability_cli import crmhub, enqueue, event, listed, project, records  # noqa: F401 -- project: fixture

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
EVENT_PARTS = [
    ("id",), ("type",), ("at",), ("session",), ("session", "id"), ("session", "channel"), ("session", "end_user"),
    ("session", "leaf_queue"), ("session", "leaf_queue", "id"), ("session", "started_at"), ("message",), ("short",),
]
PLUGINS = load_plugins(environ={"CRMHUB_LOAD_PLUGINS": "builtin,local"})


def snapshot(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table in the SQLite file at ``path``."""
    with sqlite3.connect(path) as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {table: sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr) for table in tables}


@pytest.fixture(scope="module")
def dispatcher(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("bad-input")
    with Dispatcher.from_config(local_settings(folder), plugins=PLUGINS, environ={}) as opened:
        call = EventFactory().call("call-1", end_user=ADA, leaf_queue=REFUNDS)
        assert opened.handle(call.assigned()).action == "created"  # something stored that must stay as it is
        yield opened, folder / "state.db"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.one_of(
        JSON_VALUES,
        st.tuples(st.sampled_from(EVENT_PARTS), JSON_VALUES).map(
            lambda change: with_part(EventFactory().call("call-9", end_user=ADA).assigned(), *change)
        ),
    )
)
def test_a_fuzzed_event_is_handled_or_refused_naming_a_field_and_a_refusal_stores_nothing(
    dispatcher: Any, data: Any
) -> None:
    opened, state = dispatcher
    before = snapshot(state)
    try:
        outcome = opened.handle(data)
    except InvalidEvent as error:
        assert error.field and str(error).startswith(error.field), str(error)
        assert snapshot(state) == before
    else:
        assert outcome.action in ("created", "deferred", "skipped", "duplicate")


SETTINGS_KEYS = {
    "crm": ["plugin", "local"],
    "store": ["url"],
    "record_creation": [
        "append_to_open_record", "reopen_closed_within_days", "delay_call_until_connected",
        "delay_chat_until_consumer_messages", "create_for_abandoned_calls", "create_for_abandoned_chats",
        "chat_short_abandon_seconds", "title_template", "session_type_tags",
    ],
}


@st.composite
def fuzzed_settings(draw: st.DrawFn) -> dict[str, Any]:
    """Valid settings with some keys given values of any JSON/TOML shape, or unknown keys added."""
    section = {"crm": {"plugin": "local", "local": {"path": "records.db"}}, "store": {"url": "sqlite:///state.db"},
               "record_creation": {}}
    for _ in range(draw(st.integers(1, 4))):
        table = draw(st.sampled_from(sorted(SETTINGS_KEYS)))
        key = draw(st.sampled_from(SETTINGS_KEYS[table] + ["unknown_key"]))
        if draw(st.booleans()) and table in section:
            section[table] = draw(JSON_VALUES) if key == "unknown_key" and draw(st.booleans()) else section[table]
        if isinstance(section.get(table), dict):
            section[table][key] = draw(JSON_VALUES)
    return section


@settings(max_examples=200, deadline=None)
@given(fuzzed_settings())
def test_fuzzed_settings_load_or_fail_with_every_problem_under_its_key(section: dict[str, Any]) -> None:
    try:
        load_settings(section, settings_schema_lookup(PLUGINS.hooks), environ={})
    except SettingsError as error:
        assert error.errors and all(isinstance(key, str) and key for key in error.errors)
        assert all(problems and all(isinstance(p, str) and p for p in problems) for problems in error.errors.values())
        assert str(error).startswith("invalid settings:")


def test_a_worker_fails_an_unreadable_queued_event_with_the_reason_and_runs_the_rest(project: Path) -> None:
    unreadable = {"id": "e1", "at": "yesterday", "session": {"id": "call-1", "channel": "call"}}
    enqueue(project, (unreadable, "pending", None), (event(2, "call-2", "u-2"), "pending", None))
    ran = crmhub("worker", "--once", cwd=project)
    assert ran.returncode == 1, ran.stderr  # an item was failed: see `crmhub queue list --failed`
    assert "retried event e1 of session call-1: failed" in ran.stderr
    assert "retried event e2 of session call-2: created" in ran.stderr
    assert records(project) == ["call-2"]
    (failed,) = listed(project, "--failed")
    assert failed["event_id"] == "e1" and "type" in str(failed["last_error"])
    again = crmhub("worker", "--once", cwd=project)
    assert again.returncode == 0, again.stderr  # nothing left that is due: the failed item waits for an operator
