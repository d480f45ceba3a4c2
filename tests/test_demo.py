"""The demo of ``scripts/demo.sh``, run through the real ``crmhub`` command line, against its plan.

``examples/generate_events.py`` writes the demo's events together with what a run must show
(``examples/expected-summary.json``), worked out from its scenario plan and not by running crmhub.
These tests run the demo's steps as separate processes (replay the history, close the records
agents closed, replay the day) on a copy of ``examples/crmhub.toml`` in a temporary folder, and
compare the summaries, outcomes and records with that plan.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
RECORD_ACTIONS = ("created", "appended", "reopened")


def load_generator() -> ModuleType:
    """``examples/generate_events.py`` as a module (registered while it runs: its dataclasses
    look their module up)."""
    name = "crmhub_demo_generate_events"
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / "generate_events.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


def crmhub(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crmhub", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def summary_counts(stderr: str) -> dict[str, int]:
    """The per-action counts of the summary ``crmhub replay`` prints at the end."""
    summary = stderr[stderr.rindex("summary:"):]
    counts = {}
    for action in ("created", "appended", "reopened", "deferred", "skipped", "duplicate", "queued", "failed"):
        found = re.search(rf"\b{action}\b\D{{0,3}}(\d+)", summary)
        assert found, f"the summary does not count {action!r}:\n{summary}"
        counts[action] = int(found.group(1))
    return counts


@dataclass
class Replay:
    events: list[dict[str, Any]]
    outcomes: list[dict[str, Any]]
    result: subprocess.CompletedProcess[str]


@dataclass
class DemoRun:
    history: Replay
    closes: list[subprocess.CompletedProcess[str]]
    day: Replay
    records: list[dict[str, Any]]


@pytest.fixture(scope="module")
def expected() -> dict[str, Any]:
    return json.loads((EXAMPLES / "expected-summary.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    folder = tmp_path_factory.mktemp("demo")
    shutil.copy(EXAMPLES / "crmhub.toml", folder / "crmhub.toml")

    def replay(name: str) -> Replay:
        output = folder / f"{name}.outcomes"
        result = crmhub("replay", str(EXAMPLES / name), "--config", "crmhub.toml", "--output", str(output), cwd=folder)
        return Replay(read_jsonl(EXAMPLES / name), read_jsonl(output) if output.exists() else [], result)

    history = replay("events-history.jsonl")
    closes = []
    for line in (EXAMPLES / "closes.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            record_id, closed_at = line.split()
            closes.append(crmhub("records", "close", record_id, "--at", closed_at, "--config", "crmhub.toml", cwd=folder))
    day = replay("events.jsonl")
    listing = crmhub("records", "--json", "--config", "crmhub.toml", cwd=folder)
    assert listing.returncode == 0, listing.stderr
    return DemoRun(history, closes, day, [json.loads(line) for line in listing.stdout.splitlines() if line.strip()])


def test_generated_files_are_the_committed_ones() -> None:
    """Running the generator again writes the same bytes: the demo's input is reproducible."""
    for name, content in load_generator().build().items():
        assert (EXAMPLES / name).read_text(encoding="utf-8") == content, f"examples/{name} is stale: run the generator"


def test_the_day_has_what_the_demo_promises(expected: dict[str, Any]) -> None:
    day = expected["replays"][1]
    events = read_jsonl(EXAMPLES / "events.jsonl")
    ids = [event["id"] for event in events]
    assert day["sessions"] >= 200 and day["calls"] and day["chats"]
    assert len(ids) - len(set(ids)) == day["actions"]["duplicate"] > 0
    assert all("2026-11-24T08:00:00Z" <= event["at"] <= "2026-11-24T18:00:00Z" for event in events)
    assert any(a["at"] > b["at"] for a, b in zip(events, events[1:])), "no event arrives out of order"


@pytest.mark.parametrize("index", [0, 1], ids=["history", "day"])
def test_each_replay_summary_matches_the_plan(demo: DemoRun, expected: dict[str, Any], index: int) -> None:
    replay = (demo.history, demo.day)[index]
    plan = expected["replays"][index]
    assert replay.result.returncode == 0, replay.result.stderr
    assert summary_counts(replay.result.stderr) == plan["actions"]
    assert len(replay.outcomes) == plan["lines"]
    assert [o["event_id"] for o in replay.outcomes] == [e["id"] for e in replay.events], "outcomes not in input order"
    counted = {action: 0 for action in plan["actions"]}
    for outcome in replay.outcomes:
        counted[outcome["action"]] += 1
    assert counted == plan["actions"]


def test_agents_closed_the_planned_records(demo: DemoRun) -> None:
    assert demo.closes, "closes.txt lists no record"
    for result in demo.closes:
        assert result.returncode == 0, result.stderr


def test_records_match_the_plan(demo: DemoRun, expected: dict[str, Any]) -> None:
    keys = ("id", "session_id", "leaf_queue_id", "status", "closed_at", "title", "tags")
    actual = [{**{k: r[k] for k in keys}, "notes": [n["session_id"] for n in r["notes"]]} for r in demo.records]
    assert len(actual) == len(expected["records"])
    assert actual == expected["records"]


def test_no_session_is_on_two_records(demo: DemoRun) -> None:
    sessions = [r["session_id"] for r in demo.records] + [n["session_id"] for r in demo.records for n in r["notes"]]
    assert len(sessions) == len(set(sessions))


def test_history_end_users_get_the_planned_record_action(demo: DemoRun, expected: dict[str, Any]) -> None:
    """Reopened within the 3-day window (inclusive), created outside it or in another leaf queue,
    appended to an open one; phones and emails written differently match."""
    by_session = {o["session_id"]: o for o in demo.day.outcomes if o["action"] in RECORD_ACTIONS}
    for planned in expected["history_end_users"]:
        outcome = by_session[planned["session_id"]]
        assert outcome["action"] == planned["action"], f"{planned['session_id']}: {planned['why']}; got {outcome}"


def test_abandoned_chat_reasons_say_whether_short(demo: DemoRun, expected: dict[str, Any]) -> None:
    abandon_ids = {e["id"] for e in demo.day.events if e["type"] == "session.abandoned"}
    reasons = {
        o["session_id"]: o["reason"] for o in demo.day.outcomes
        if o["event_id"] in abandon_ids and o["action"] != "duplicate"
    }
    assert expected["short_abandoned_chats"] and expected["abandoned_chats_not_short"]
    for session_id in expected["short_abandoned_chats"]:
        assert "short-abandoned" in reasons[session_id], session_id
    for session_id in expected["abandoned_chats_not_short"]:
        assert "short" not in reasons[session_id], session_id
