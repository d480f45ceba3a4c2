"""Benchmark 6: ``crmhub replay --workers 8`` against ``--workers 1``, CRM calls taking 20 ms.

The real command line (the installed ``crmhub`` script, a subprocess) replays calls of distinct
end users (no serialization between them, SPEC section 10) with the Zendesk plugin, whose
``base_url`` points at a fake Zendesk (:mod:`bench.crms.zendesk`) on 127.0.0.1 that answers every
request after 20 ms. Each session is assigned (three user lookups, a user and a ticket created:
five calls), connects and ends, and sessions overlap in waves, so that a session's later events
follow other sessions' events in the file.

Checked on every run: exit code 0, one outcome per event in input order, every session's
outcomes ``created, skipped, skipped`` (its events were handled in order: an end handled before
the assignment would have left the session without a record) and one ticket per session at the
fake. Throughput is events per second of processing: the run's wall time minus the start-up time
of the same command on an empty file.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.crms import zendesk
from bench.events import CALL_ACTIONS, call_stream, write_jsonl
from bench.fake_http import FakeServer
from bench.settings_file import write_settings
from bench.startup import crmhub_command
from bench.verdict import ratio_verdict

LATENCY = 0.020
TARGET = 6.0
WORKERS = (1, 8)
RULES = {"append_to_open_record": True, "add_session_type_tag": True, "add_platform_tag": True}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _replay(folder: Path, events: Path, workers: int, timeout: float) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Run the replay; (wall seconds, CPU seconds of the replay process, the finished process)."""
    command = [*crmhub_command()[:-1], "replay", str(events), "--config", "crmhub.toml", "--workers", str(workers),
               "--output", "outcomes.jsonl"]
    environ = {**os.environ, "CRMHUB_LOAD_PLUGINS": f"builtin,{zendesk.NAME}", **zendesk.ENVIRON}
    cpu_before, started = _children_cpu(), time.perf_counter()
    done = subprocess.run(command, cwd=folder, env=environ, capture_output=True, text=True, timeout=timeout)
    return time.perf_counter() - started, _children_cpu() - cpu_before, done


def _prepare(folder: Path, url: str) -> None:
    write_settings(folder / "crmhub.toml", zendesk.NAME, zendesk.settings(url), RULES, "sqlite:///state.db")


def check(folder: Path, events: list[dict[str, Any]], app: zendesk.App, done: subprocess.CompletedProcess[str]) -> None:
    """Raise unless the replay did everything right, each session's events in order."""
    if done.returncode != 0:
        raise RuntimeError(f"crmhub replay exited {done.returncode}: {done.stderr.strip()[-500:]}")
    outcomes = [json.loads(line) for line in (folder / "outcomes.jsonl").read_text().splitlines()]
    if [o["event_id"] for o in outcomes] != [e["id"] for e in events]:
        raise RuntimeError("the outcomes are not one per event in input order")
    per_session: dict[str, list[str]] = {}
    for outcome in outcomes:
        per_session.setdefault(outcome["session_id"], []).append(outcome["action"])
    wrong = {s: actions for s, actions in per_session.items() if tuple(actions) != CALL_ACTIONS}
    if wrong:
        session, actions = next(iter(wrong.items()))
        raise RuntimeError(f"{len(wrong)} sessions out of order or wrong, e.g. {session}: {actions}")
    tickets = sorted(t["external_id"] for t in app.tickets.values())
    if tickets != sorted(per_session):
        raise RuntimeError(f"expected one ticket per session at the fake, found {len(tickets)} for {len(per_session)} sessions")


def startup_seconds(timeout: float, runs: int) -> float:
    """The command's time on an empty events file (median of ``runs``)."""
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="crmhub-bench-") as name, FakeServer(zendesk.App()) as server:
            folder = Path(name)
            _prepare(folder, server.url)
            (folder / "empty.jsonl").write_text("")
            seconds, _, done = _replay(folder, folder / "empty.jsonl", 1, timeout)
            if done.returncode != 0:
                raise RuntimeError(f"crmhub replay of an empty file exited {done.returncode}: {done.stderr.strip()[-500:]}")
            times.append(seconds)
    return statistics.median(times)


def one_run(events: list[dict[str, Any]], workers: int, timeout: float) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one checked replay against a fresh fake."""
    app = zendesk.App()
    with tempfile.TemporaryDirectory(prefix="crmhub-bench-") as name, FakeServer(app, LATENCY) as server:
        folder = Path(name)
        _prepare(folder, server.url)
        write_jsonl(iter(events), folder / "events.jsonl")
        seconds, cpu, done = _replay(folder, folder / "events.jsonl", workers, timeout)
        check(folder, events, app, done)
    return seconds, cpu


def partition_cap(events: list[dict[str, Any]], workers: int) -> float:
    """The speed-up the routing of sessions to workers allows at most: sessions / the busiest
    worker's sessions (each session goes to the worker its id hashes to)."""
    from crmhub.cli.pipeline import worker_for

    per_worker: dict[int, int] = {}
    for item in events:
        if item["type"] == "session.assigned":
            index = worker_for(item, workers)
            per_worker[index] = per_worker.get(index, 0) + 1
    return sum(per_worker.values()) / max(per_worker.values())


def run(quick: bool, progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    sessions, rounds = (24, 1) if quick else (160, 2)
    events = list(call_stream(sessions))
    timeout = 60 + len(events) * 0.5
    startup = startup_seconds(timeout, 1 if quick else 3)
    wall: dict[int, list[float]] = {n: [] for n in WORKERS}
    cpu: dict[int, list[float]] = {n: [] for n in WORKERS}
    for number in range(rounds):
        for workers in WORKERS:
            progress(f"concurrency round {number + 1}/{rounds}, --workers {workers}")
            seconds, cpu_seconds = one_run(events, workers, timeout)
            wall[workers].append(seconds)
            cpu[workers].append(cpu_seconds)
    throughput = {n: len(events) / max(statistics.median(times) - startup, 1e-9) for n, times in wall.items()}
    ratio = throughput[WORKERS[1]] / throughput[WORKERS[0]]
    return {
        **ratio_verdict(
            "Concurrency: replay --workers 8 vs 1 (Zendesk, 20 ms per call)", ratio, TARGET,
            f"{throughput[WORKERS[1]]:.1f} ev/s", f"{throughput[WORKERS[0]]:.1f} ev/s", at_least=True,
        ),
        "crmhub": {"workers": WORKERS[1], "events_per_second": round(throughput[WORKERS[1]], 1)},
        "baseline": {"workers": WORKERS[0], "events_per_second": round(throughput[WORKERS[0]], 1)},
        "wall_seconds": {str(n): [round(t, 3) for t in times] for n, times in wall.items()},
        "cpu_seconds": {str(n): [round(t, 3) for t in times] for n, times in cpu.items()},
        "startup_seconds": round(startup, 3),
        "partition_cap": round(partition_cap(events, WORKERS[1]), 2),
        "params": {"sessions": sessions, "events": len(events), "calls_per_session": 5, "latency_ms": LATENCY * 1000,
                   "rounds": rounds, "rules": RULES, "order_checked": True},
    }
