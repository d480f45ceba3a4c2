"""Eight threads handle interleaved events — the sessions of the same end users at once, and
redeliveries of each other's events — through one Dispatcher on the local CRM. Each end user
ends with one record (the first session creates it, the others append to it), and every session
points at its end user's record."""

from __future__ import annotations

import random
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

from crmhub import Dispatcher
from crmhub.local_records import LocalRecords
from tests.eventkit import EventFactory, end_user, local_settings
from tests.reliability_report import count
from tests.threads import run_in_threads

THREADS = 8
END_USERS = 4
SESSIONS_PER_END_USER = 4


def test_eight_threads_make_one_record_per_end_user_and_append_the_rest(tmp_path: Path) -> None:
    factory = EventFactory()
    calls = {
        f"call-{u}-{n}": factory.call(f"call-{u}-{n}", end_user=end_user(f"u-{u}"))
        for u in range(END_USERS) for n in range(SESSIONS_PER_END_USER)
    }
    scripts: dict[str, list[dict[str, Any]]] = {s: [] for s in calls}
    for step in ("assigned", "connected", "ended"):  # event times rise in this order
        for session, call in calls.items():
            scripts[session].append(getattr(call, step)())
    sessions = list(calls)
    sent: list[dict[str, Any]] = []
    sent_lock = threading.Lock()
    outcomes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    start = threading.Barrier(THREADS)

    with Dispatcher.from_config(local_settings(tmp_path, append_to_open_record=True), environ={}) as dispatcher:
        def run(worker: int) -> None:
            chance = random.Random(worker)
            start.wait(timeout=30)
            for session in sessions[worker::THREADS]:  # each session's events in order, in one thread
                for event in scripts[session]:
                    outcome = dispatcher.handle(event).to_dict()
                    with sent_lock:
                        outcomes[session].append(outcome)
                        sent.append(event)
                        again = chance.choice(sent)
                    dispatcher.handle(again)  # a redelivery, often of another thread's session

        run_in_threads(run, THREADS)
        states = {s: dispatcher.session(s).to_dict() for s in sessions}

    records = LocalRecords(tmp_path / "records.db").all()
    assert len(records) == END_USERS
    by_end_user = {r.end_user["id"]: r for r in records}
    for session in sessions:
        user = f"u-{session.split('-')[1]}"
        record = by_end_user[user]
        assert states[session]["record"]["id"] == str(record.id)
        assert outcomes[session][0]["action"] in ("created", "appended")
        assert {o["record"]["id"] for o in outcomes[session]} == {str(record.id)}
    for record in records:
        appended = [n["session_id"] for n in record.notes]
        assert sorted([record.session_id, *appended]) == sorted(
            s for s in sessions if by_end_user[f"u-{s.split('-')[1]}"] is record
        )
    count("threads", events=2 * len(sent), records_expected=END_USERS, records_found=len(records),
          duplicates=len(records) - END_USERS, lost=sum(1 for s in sessions if states[s]["record"] is None))
