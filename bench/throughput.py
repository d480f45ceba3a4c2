"""Benchmark 3: events per second through the engine and the SQLite store, with a no-op CRM.

crmhub: ``Dispatcher.handle`` with the no-op CRM plugin (:mod:`bench.noop_crm`) and the SQLite
store in a temporary folder on disk (WAL, ``synchronous=FULL``, as always). The events are calls
of end users who come back: each call is assigned (a record created, or the end user's record
appended to), connects and ends. Every store transaction crmhub opens is counted.

Baseline (SPEC section 10): a plain script doing one SQLite transaction per event in WAL mode with
``synchronous=FULL`` — ``BEGIN IMMEDIATE``, insert the event (its JSON) keyed by its id, ``COMMIT``.

The figure is the median over rounds of crmhub's time / the script's time for the same events.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

from bench import noop_crm
from bench.events import call_stream
from bench.verdict import handle_all, ratio_verdict

TARGET = 2.0
RULES = {"append_to_open_record": True}


def workload(sessions: int) -> list[dict[str, Any]]:
    """Calls of ``sessions // 3`` end users (each comes back to the same leaf queue)."""
    return list(call_stream(sessions, users=max(3, sessions // 3 // 3 * 3)))


def crmhub_run(events: list[dict[str, Any]], folder: Path) -> dict[str, Any]:
    dispatcher = noop_crm.dispatcher(folder / "state.db", RULES)
    transactions = 0
    open_transaction = dispatcher.store.transaction

    def counted() -> Any:
        nonlocal transactions
        transactions += 1
        return open_transaction()

    dispatcher.store.transaction = counted
    try:
        seconds, actions = handle_all(dispatcher, events)
    finally:
        dispatcher.close()
    return {"seconds": seconds, "transactions": transactions, "actions": actions}


def baseline_run(events: list[dict[str, Any]], folder: Path) -> float:
    with closing(sqlite3.connect(folder / "baseline.db", isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE events (event_id TEXT PRIMARY KEY, session_id TEXT NOT NULL, event TEXT NOT NULL)")
        started = time.perf_counter()
        for item in events:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "INSERT INTO events (event_id, session_id, event) VALUES (?, ?, ?)",
                (item["id"], item["session"]["id"], json.dumps(item)),
            )
            conn.execute("COMMIT")
        return time.perf_counter() - started


def run(quick: bool, progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    sessions, rounds = (60, 2) if quick else (600, 3)
    return measure(sessions, rounds, progress)


def measure(sessions: int, rounds: int, progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """The benchmark's figures for ``sessions`` calls, timed ``rounds`` times."""
    events = workload(sessions)
    results = []
    for number in range(rounds):
        progress(f"throughput round {number + 1}/{rounds}")
        with tempfile.TemporaryDirectory(prefix="crmhub-bench-") as folder:
            crmhub = crmhub_run(events, Path(folder))
            baseline = baseline_run(events, Path(folder))
        results.append({**crmhub, "baseline_seconds": baseline, "ratio": crmhub["seconds"] / baseline})
    ratio = statistics.median(r["ratio"] for r in results)
    crmhub_seconds = statistics.median(r["seconds"] for r in results)
    baseline_seconds = statistics.median(r["baseline_seconds"] for r in results)
    return {
        **ratio_verdict(
            "Core throughput (no-op CRM, SQLite store)", ratio, TARGET,
            f"{len(events) / crmhub_seconds:.0f} ev/s", f"{len(events) / baseline_seconds:.0f} ev/s",
        ),
        "crmhub": {
            "events_per_second": round(len(events) / crmhub_seconds, 1),
            "transactions_per_event": round(results[0]["transactions"] / len(events), 3),
            "actions": results[0]["actions"],
        },
        "baseline": {"events_per_second": round(len(events) / baseline_seconds, 1), "transactions_per_event": 1},
        "rounds": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()} for r in results],
        "params": {"sessions": sessions, "events": len(events), "rounds": rounds, "rules": RULES},
    }
