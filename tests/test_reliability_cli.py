"""``crmhub queue`` and ``crmhub worker`` in real subprocesses, on a SQLite store and the local CRM.

The queue is filled through the store, as the dispatcher leaves it after the CRM failed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from crmhub.core.store import open_store
from crmhub.local_records import LocalRecords


def crmhub(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crmhub", *args], cwd=cwd, capture_output=True, text=True,
        env={**os.environ, "CRMHUB_LOAD_PLUGINS": "builtin,local"}, timeout=120,
    )


def event(n: int, session: str, user: str) -> dict[str, object]:
    return {
        "id": f"e{n}", "type": "session.assigned", "at": f"2026-11-25T09:3{n}:00Z",
        "session": {"id": session, "channel": "call", "leaf_queue": {"id": "q-42"}, "end_user": {"id": user}},
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "crmhub.toml").write_text(
        '[crm]\nplugin = "local"\n[crm.local]\npath = "records.db"\n[store]\nurl = "sqlite:///state.db"\n'
    )
    return tmp_path


def enqueue(project: Path, *items: tuple[dict[str, object], str, datetime | None]) -> None:
    store = open_store(f"sqlite:///{project / 'state.db'}")
    try:
        with store.transaction() as tx:
            for raw, status, due in items:
                session = raw["session"]["id"]  # type: ignore[index]
                tx.enqueue(session, str(raw["id"]), raw, "503 from the CRM", status=status, not_before=due)
    finally:
        store.close()


def records(project: Path) -> list[str]:
    path = project / "records.db"
    return [r.session_id for r in LocalRecords(path).all()] if path.exists() else []


def listed(project: Path, *flags: str) -> list[dict[str, object]]:
    result = crmhub("queue", "list", "--json", *flags, cwd=project)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_queue_list_retry_and_drop(project: Path) -> None:
    later = datetime.now(timezone.utc) + timedelta(hours=1)
    enqueue(project, (event(1, "call-1", "u-1"), "failed", None), (event(2, "call-2", "u-2"), "pending", later),
            (event(3, "call-3", "u-3"), "failed", None))
    everything = listed(project)
    assert [(i["event_id"], i["status"]) for i in everything] == [("e2", "pending"), ("e1", "failed"), ("e3", "failed")]
    assert everything[0]["not_before"] == later.isoformat()
    assert [i["event_id"] for i in listed(project, "--failed")] == ["e1", "e3"]
    table = crmhub("queue", "list", cwd=project).stdout.splitlines()
    assert table[0].split()[:4] == ["SEQ", "STATUS", "SESSION", "EVENT"] and len(table) == 4

    seqs = {i["event_id"]: i["seq"] for i in everything}
    assert crmhub("queue", "retry", str(seqs["e1"]), cwd=project).returncode == 0
    assert crmhub("queue", "retry", str(seqs["e2"]), cwd=project).returncode == 1  # not a failed item
    assert crmhub("queue", "retry", cwd=project).returncode == 2
    assert crmhub("queue", "drop", str(seqs["e3"]), cwd=project).returncode == 0
    again = crmhub("queue", "drop", str(seqs["e3"]), cwd=project)
    assert again.returncode == 1 and "no queued or failed item" in again.stderr
    assert [(i["event_id"], i["status"]) for i in listed(project)] == [("e1", "pending"), ("e2", "pending")]

    ran = crmhub("worker", "--once", cwd=project)
    assert ran.returncode == 0, ran.stderr
    assert "retried event e1 of session call-1: created" in ran.stderr
    assert records(project) == ["call-1"]  # e2 is not due for an hour
    assert [i["event_id"] for i in listed(project)] == ["e2"]


def test_a_worker_waits_for_due_work_within_its_runtime(project: Path) -> None:
    soon = datetime.now(timezone.utc) + timedelta(seconds=1)
    enqueue(project, (event(1, "call-1", "u-1"), "pending", soon), (event(2, "call-2", "u-2"), "pending", None))
    ran = crmhub("worker", "--interval", "0.2", "--max-runtime", "4", cwd=project)
    assert ran.returncode == 0, ran.stderr
    assert sorted(records(project)) == ["call-1", "call-2"]
    assert listed(project) == []


def test_a_worker_stops_cleanly_on_sigterm(project: Path) -> None:
    enqueue(project, (event(1, "call-1", "u-1"), "pending", None))
    worker = subprocess.Popen(
        [sys.executable, "-m", "crmhub", "worker", "--interval", "0.2"], cwd=project, stderr=subprocess.PIPE,
        text=True, env={**os.environ, "CRMHUB_LOAD_PLUGINS": "builtin,local"},
    )
    try:
        for _ in range(300):  # up to 30 s for start-up and the first pass
            if records(project):
                break
            time.sleep(0.1)
        assert records(project) == ["call-1"]
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=30)
    assert worker.returncode == 0, stderr
    assert "SIGTERM: stopping" in stderr
