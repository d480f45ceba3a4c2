"""Benchmark 1: HTTP calls crmhub makes per scenario and CRM, beside the vendor API's minimum.

Each scenario runs against a fresh fake CRM (:mod:`bench.crms`) on 127.0.0.1, which logs every
request it serves. What comes before the measured event (a person the CRM already knows, the
record an earlier session made, an agent closing it) is set up first; then a new dispatcher is
built on the same store, as a restarted or second crmhub process would be, so that no in-process
cache knows the end user; it handles one session of another end user first (auth token, default
status: what a running process has), and the calls of the scenario's event are counted.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from bench.crms import CRMS
from bench.events import call_events, end_user, event, rfc3339, session_fields
from bench.fake_http import FakeServer
from bench.minimums import MINIMUM, SCENARIOS
from crmhub import Dispatcher

RULES = {
    "append_to_open_record": True,
    "append_to_closed_within_days": 3,
    "abandoned_chats": "all",
    "add_session_type_tag": True,
    "add_platform_tag": True,
}
DAY = datetime(2026, 11, 24, tzinfo=timezone.utc)
ADA = end_user(7)
EXPECTED = {
    "new_end_user": "created", "known_end_user": "created", "append_open": "appended",
    "reopen_closed": "reopened", "abandoned_chat": "created",
}


def _assigned(number: int, user: dict[str, str], at: datetime, queue: int = 0) -> dict[str, Any]:
    return call_events(number, user, queue, at - timedelta(seconds=20))[0]


def _abandoned_chat(number: int, at: datetime) -> dict[str, Any]:
    session = session_fields(f"chat-{number}", None, 0, at - timedelta(seconds=40), channel="chat")
    return event(f"evt-{number}-abandoned", "session.abandoned", at, session)


def _config(name: str, url: str, folder: Path) -> dict[str, Any]:
    return {
        "crm": {"plugin": name, name: CRMS[name].settings(url)},
        "record_creation": RULES,
        "store": {"url": f"sqlite:///{folder / 'state.db'}"},
    }


def _environ(name: str) -> dict[str, str]:
    return {"CRMHUB_LOAD_PLUGINS": f"builtin,{name}", **CRMS[name].ENVIRON}


def _first_record(dispatcher: Dispatcher) -> str:
    """Ada's first call, the morning before: crmhub creates her record."""
    outcome = dispatcher.handle(_assigned(1, ADA, DAY + timedelta(hours=9, minutes=30)))
    if outcome.action != "created" or outcome.record is None:
        raise RuntimeError(f"setting up: Ada's first call got {outcome.action}: {outcome.reason}")
    return outcome.record.id


def _measured_event(scenario: str) -> dict[str, Any]:
    if scenario == "append_open":
        return _assigned(2, ADA, DAY + timedelta(hours=11))
    if scenario == "abandoned_chat":
        return _abandoned_chat(3, DAY + timedelta(days=1, hours=10))
    return _assigned(2, ADA, DAY + timedelta(days=1, hours=10))


def count_calls(name: str, scenario: str) -> dict[str, Any]:
    """The calls crmhub makes for one scenario against a fresh fake of CRM ``name``."""
    app = CRMS[name].App()
    with tempfile.TemporaryDirectory(prefix="crmhub-bench-") as folder, FakeServer(app) as server:
        config, environ = _config(name, server.url, Path(folder)), _environ(name)
        if scenario == "known_end_user":
            app.add_person(ADA)
        if scenario in ("append_open", "reopen_closed"):
            with Dispatcher.from_config(config, environ=environ) as earlier:
                record_id = _first_record(earlier)
            if scenario == "reopen_closed":
                app.close(record_id, DAY + timedelta(hours=15))
        with Dispatcher.from_config(config, environ=environ) as dispatcher:
            warm_up = dispatcher.handle(_assigned(900, end_user(900), DAY + timedelta(days=1, hours=9), queue=2))
            if warm_up.action != "created":
                raise RuntimeError(f"warming up {name}: got {warm_up.action}: {warm_up.reason}")
            server.reset()
            outcome = dispatcher.handle(_measured_event(scenario))
            calls = server.calls()
    if outcome.action != EXPECTED[scenario]:
        raise RuntimeError(f"{name} {scenario}: expected {EXPECTED[scenario]}, got {outcome.action}: {outcome.reason}")
    minimum, why = MINIMUM[name][scenario]
    return {
        "calls": len(calls),
        "minimum": minimum,
        "ratio": round(len(calls) / minimum, 3),
        "met": len(calls) <= minimum,
        "action": outcome.action,
        "requests": [f"{method} {path}" for method, path in calls],
        "minimum_calls": why,
    }


def run(quick: bool, progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Every shipped CRM × every scenario (the same in ``--quick``: it is cheap)."""
    crms: dict[str, dict[str, Any]] = {}
    for name in CRMS:
        crms[name] = {}
        for scenario in SCENARIOS:
            progress(f"api_calls {name} {scenario}")
            crms[name][scenario] = count_calls(name, scenario)
    rows = [row for scenarios in crms.values() for row in scenarios.values()]
    return {
        "title": "API calls per scenario",
        "target": "calls == vendor minimum",
        "met": all(row["met"] for row in rows),
        "over_minimum": sum(row["calls"] - row["minimum"] for row in rows),
        "crms": crms,
        "params": {"rules": RULES, "time_of_first_record": rfc3339(DAY + timedelta(hours=9, minutes=30))},
    }
