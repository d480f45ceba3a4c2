"""Benchmark 2: crmhub's overhead on the HTTP path, against a plain ``requests`` script.

A fake Zendesk (:mod:`bench.crms.zendesk`) answers every request after 5 ms, from its own process
so that it never competes with the measured client for the GIL. crmhub handles a day's calls
through ``Dispatcher.handle`` with the Zendesk plugin and its normal durability (the SQLite store:
WAL, ``synchronous=FULL``, a temporary folder on disk): half the calls come from new end users
(three user lookups, a user and a ticket created), the other half from those end users again
(the remembered ticket read, then updated), and every call also connects and ends. The fake logs
every request; the baseline, a plain ``requests.Session`` script, then sends exactly those
requests (method, path, query, body, idempotency key) to a fresh fake, which gives exactly the
same answers, and reads each answer's JSON. Each round times both, after one unmeasured warm-up
round; the figure is the median of the rounds' ratios (crmhub time / script time).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from bench.crms import zendesk
from bench.events import call_stream
from bench.fake_http import server_process
from bench.verdict import handle_all, ratio_verdict
from crmhub import Dispatcher

LATENCY = 0.005
TARGET = 1.15
RULES = {"append_to_open_record": True, "add_session_type_tag": True, "add_platform_tag": True}


def workload(sessions: int) -> list[dict[str, Any]]:
    """``sessions`` calls of ``sessions // 2`` end users (a multiple of 3, so that an end user's
    second call comes to the leaf queue of their first and joins its ticket)."""
    users = max(3, sessions // 2 // 3 * 3)
    return list(call_stream(sessions, users=users))


def crmhub_run(events: list[dict[str, Any]], url: str, folder: Path) -> tuple[float, dict[str, int]]:
    """Seconds to handle ``events`` through the dispatcher, and how many got each action."""
    config = {
        "crm": {"plugin": zendesk.NAME, zendesk.NAME: zendesk.settings(url)},
        "record_creation": RULES,
        "store": {"url": f"sqlite:///{folder / 'state.db'}"},
    }
    environ = {"CRMHUB_LOAD_PLUGINS": f"builtin,{zendesk.NAME}", **zendesk.ENVIRON}
    with Dispatcher.from_config(config, environ=environ) as dispatcher:
        return handle_all(dispatcher, events)


def baseline_run(log: list[dict[str, Any]], url: str) -> float:
    """Seconds for a plain ``requests.Session`` to send the logged requests and read the answers."""
    session = requests.Session()
    session.auth = (f"{zendesk.settings(url)['email']}/token", zendesk.ENVIRON["ZENDESK_API_TOKEN"])
    session.headers.update({"Accept": "application/json"})
    started = time.perf_counter()
    for call in log:
        response = session.request(
            call["method"], url + call["path"], params=call["query"] or None, json=call["body"],
            headers=call["headers"], timeout=10,
        )
        if response.status_code >= 400:
            raise RuntimeError(f"the baseline's {call['method']} {call['path']} got HTTP {response.status_code}")
        response.json()
    return time.perf_counter() - started


def _request_key(call: dict[str, Any]) -> tuple[Any, ...]:
    return call["method"], call["path"], sorted(call["query"].items()), repr(call["body"])


def one_round(events: list[dict[str, Any]]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="crmhub-bench-") as folder:
        with server_process(zendesk.NAME, LATENCY) as server:
            crmhub_seconds, actions = crmhub_run(events, server.url, Path(folder))
            log = server.log()
    with server_process(zendesk.NAME, LATENCY) as server:
        baseline_seconds = baseline_run(log, server.url)
        replayed = server.log()
    if [_request_key(c) for c in replayed] != [_request_key(c) for c in log]:
        raise RuntimeError("the baseline did not make the same requests as crmhub")
    return {"crmhub_seconds": crmhub_seconds, "baseline_seconds": baseline_seconds, "calls": len(log), "actions": actions}


def run(quick: bool, progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    sessions, rounds = (12, 2) if quick else (96, 5)
    events = workload(sessions)
    progress("http_overhead warm-up")
    one_round(workload(6))  # first imports, phone metadata, connections: not what is measured
    results = []
    for number in range(rounds):
        progress(f"http_overhead round {number + 1}/{rounds}")
        results.append(one_round(events))
    ratios = [r["crmhub_seconds"] / r["baseline_seconds"] for r in results]
    ratio = statistics.median(ratios)
    calls = results[0]["calls"]
    crmhub_median = statistics.median(r["crmhub_seconds"] for r in results)
    baseline_median = statistics.median(r["baseline_seconds"] for r in results)
    return {
        **ratio_verdict(
            "Overhead on the HTTP path (Zendesk, 5 ms per call)", ratio, TARGET,
            f"{crmhub_median:.2f} s", f"{baseline_median:.2f} s",
        ),
        "crmhub": {"seconds_median": round(crmhub_median, 4), "ms_per_event": round(crmhub_median / len(events) * 1000, 3)},
        "baseline": {"seconds_median": round(baseline_median, 4), "ms_per_call": round(baseline_median / calls * 1000, 3)},
        "rounds": [{**r, "ratio": round(r["crmhub_seconds"] / r["baseline_seconds"], 3)} for r in results],
        "params": {"sessions": sessions, "events": len(events), "calls": calls, "latency_ms": LATENCY * 1000,
                   "rounds": rounds, "rules": RULES},
    }
