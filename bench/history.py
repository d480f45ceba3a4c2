"""Benchmark 5: per-event cost with 1,000,000 sessions already stored, against 1,000.

The stored history is generated in bulk straight into the SQLite tables (SPEC section 10), from
rows crmhub itself wrote: one call (assigned, connected, ended) of end user ``u-TEMPLATE`` is
handled by a real dispatcher on the no-op CRM, every row it left in any table is taken as a
template, and each history session ``n`` is a copy with ``TEMPLATE`` replaced by ``n`` (so the
copies follow whatever the store's schema is). Then the same kind of events are timed through
``Dispatcher.handle`` on both stores: new calls of end users spread over the whole history, whose
remembered records are looked up in the index and appended to, and who connect and end.
"""

from __future__ import annotations

import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench import noop_crm
from bench.events import START, event, session_fields
from bench.verdict import handle_all, ratio_verdict

TARGET = 1.3
TOKEN = "TEMPLATE"
RULES = {"append_to_open_record": True}
SMALL = 1_000


def _user(tag: str) -> dict[str, str]:
    return {"id": f"u-{tag}", "name": f"Customer {tag}", "phone": "+14155550100", "email": f"c{tag}@example.com"}


def call(tag: str, user_tag: str, offset_seconds: int) -> list[dict[str, Any]]:
    """A call of end user ``u-<user_tag>`` in leaf queue q-42: assigned, connected, ended."""
    started = START + timedelta(seconds=offset_seconds)
    session = session_fields(f"call-{tag}", _user(user_tag), 0, started)
    return [
        event(f"evt-{tag}-1", "session.assigned", started + timedelta(seconds=20), session),
        event(f"evt-{tag}-2", "session.connected", started + timedelta(seconds=25), session),
        event(f"evt-{tag}-3", "session.ended", started + timedelta(seconds=300), session),
    ]


def template_store(folder: Path) -> Path:
    """A store holding exactly one handled call, every id in it containing ``TEMPLATE``."""
    path = folder / "template.db"
    dispatcher = noop_crm.dispatcher(path, RULES)
    dispatcher.client = noop_crm.NoopClient(prefix=f"rec-{TOKEN}")
    try:
        for item in call(TOKEN, TOKEN, 0):
            dispatcher.handle(item)
    finally:
        dispatcher.close()
    return path


def _template_rows(conn: sqlite3.Connection) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """Table → (columns, rows) for every row that mentions the template's ids."""
    tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    found = {}
    for table in tables:
        cursor = conn.execute(f'SELECT * FROM "{table}"')
        columns = [column[0] for column in cursor.description]
        rows = [row for row in cursor if any(isinstance(v, str) and TOKEN in v for v in row)]
        if rows:
            found[table] = (columns, rows)
    return found


def _copies(rows: list[tuple[Any, ...]], count: int) -> Iterator[tuple[Any, ...]]:
    for number in range(count):
        tag = f"{number:08d}"
        for row in rows:
            yield tuple(v.replace(TOKEN, tag) if isinstance(v, str) else v for v in row)


def build_history(template: Path, path: Path, sessions: int) -> dict[str, int]:
    """A store at ``path`` with ``sessions`` copies of the template's call; rows written per table."""
    with closing(sqlite3.connect(template)) as source, closing(sqlite3.connect(path, isolation_level=None)) as target:
        source.backup(target)
        rows = _template_rows(target)
        target.execute("PRAGMA journal_mode=DELETE")
        target.execute("PRAGMA journal_mode=OFF")
        target.execute("PRAGMA synchronous=OFF")
        target.execute("BEGIN")
        written = {}
        for table, (columns, template_rows) in rows.items():
            names = ", ".join(f'"{c}"' for c in columns)
            marks = ", ".join("?" for _ in columns)
            target.execute(f'DELETE FROM "{table}"')
            target.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', _copies(template_rows, sessions))
            written[table] = sessions * len(template_rows)
        target.execute("COMMIT")
    return written


def measured_events(round_number: int, sessions: int, history: int) -> list[dict[str, Any]]:
    """New calls of end users spread evenly over a history of ``history`` sessions."""
    events = []
    for k in range(sessions):
        user = f"{(k * history) // sessions:08d}"
        events += call(f"r{round_number}-{k:05d}", user, 3600 + k * 30)
    return events


def time_events(store: Path, events: list[dict[str, Any]]) -> tuple[float, dict[str, int]]:
    dispatcher = noop_crm.dispatcher(store, RULES)
    try:
        return handle_all(dispatcher, events)
    finally:
        dispatcher.close()


def run(quick: bool, progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    big = 100_000 if quick else 1_000_000
    sessions, rounds = (30, 3) if quick else (200, 3)
    with tempfile.TemporaryDirectory(prefix="crmhub-bench-") as name:
        folder = Path(name)
        template = template_store(folder)
        stores, built = {}, {}
        for size in (SMALL, big):
            progress(f"history: storing {size:,} sessions")
            stores[size] = folder / f"history-{size}.db"
            started = time.perf_counter()
            rows = build_history(template, stores[size], size)
            built[size] = {"rows": rows, "seconds": round(time.perf_counter() - started, 1),
                           "megabytes": round(stores[size].stat().st_size / 1e6, 1)}
        per_event: dict[int, list[float]] = {SMALL: [], big: []}
        actions: dict[int, dict[str, int]] = {}
        for number in range(rounds):
            for size in (SMALL, big):
                progress(f"history: round {number + 1}/{rounds}, {size:,} sessions stored")
                events = measured_events(number, sessions, size)
                seconds, actions[size] = time_events(stores[size], events)
                per_event[size].append(seconds / len(events))
        shutil.rmtree(folder, ignore_errors=True)
    small_cost, big_cost = statistics.median(per_event[SMALL]), statistics.median(per_event[big])
    ratio = big_cost / small_cost
    return {
        **ratio_verdict(
            f"History growth: {big:,} sessions stored vs {SMALL:,}", ratio, TARGET,
            f"{big_cost * 1000:.2f} ms/ev", f"{small_cost * 1000:.2f} ms/ev",
        ),
        "crmhub": {"ms_per_event": round(big_cost * 1000, 3), "sessions_stored": big, "actions": actions[big]},
        "baseline": {"ms_per_event": round(small_cost * 1000, 3), "sessions_stored": SMALL, "actions": actions[SMALL]},
        "stores": {str(size): info for size, info in built.items()},
        "rounds_ms_per_event": {str(size): [round(c * 1000, 3) for c in costs] for size, costs in per_event.items()},
        "params": {"measured_sessions_per_round": sessions, "events_per_round": 3 * sessions, "rounds": rounds, "rules": RULES},
    }
