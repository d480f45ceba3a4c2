"""Crash tests: ``crmhub replay`` in a subprocess against the fake Zendesk, SIGKILLed at named
points, then run again on the same events (a host redelivers what it got no answer for).
Whatever the point, every session ends with exactly one ticket."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.eventkit import EventFactory
from tests.fake_crm import FakeZendesk
from tests.reliability_report import count

pytest.importorskip("crmhub_zendesk")
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")

SESSIONS = ("call-1", "call-2")


@pytest.fixture
def fake() -> Iterator[FakeZendesk]:
    with FakeZendesk() as server:
        yield server


def project(tmp_path: Path, fake: FakeZendesk) -> Path:
    (tmp_path / "crmhub.toml").write_text(
        '[crm]\nplugin = "zendesk"\n'
        f'[crm.zendesk]\nbase_url = "{fake.base_url}"\nemail = "agent@example.com"\n'
        'api_token = "env:ZENDESK_API_TOKEN"\ntimeout_seconds = 30\n'
        '[store]\nurl = "sqlite:///state.db"\n'
    )
    events = EventFactory()
    lines = []
    for session in SESSIONS:
        call = events.call(session)
        lines += [call.assigned(), call.ended()]
    (tmp_path / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in lines))
    return tmp_path


def replay(folder: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "crmhub", "replay", "events.jsonl", "--config", "crmhub.toml", "--output", "out.jsonl"],
        cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "CRMHUB_LOAD_PLUGINS": "builtin,zendesk", "ZENDESK_API_TOKEN": "fake-token-for-tests"},
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    try:
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
    return process.returncode, stderr


CRASH_POINTS = [
    # (name, fault kind, commit the held request after the kill, how many creates pass first)
    pytest.param("hold", False, 0, id="before-the-crm-call"),
    pytest.param("commit_then_hold", False, 0, id="after-the-crm-committed-before-the-journal"),
    pytest.param("hold", True, 0, id="crm-commits-as-the-client-dies"),
    pytest.param("hold", False, 1, id="after-the-first-session-was-journalled"),
]


@pytest.mark.parametrize("kind, commit, after", CRASH_POINTS)
def test_a_killed_replay_run_again_makes_one_ticket_per_session(tmp_path, fake, kind, commit, after):
    folder = project(tmp_path, fake)
    held = fake.fault(kind, after=after)
    first = replay(folder)
    try:
        assert held.arrived.wait(60), "the replay never reached the CRM"
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(timeout=30)
    fake.release(held, commit=commit)
    fake.heal()

    code, stderr = finish(replay(folder))
    assert code == 0, stderr
    outcomes = [json.loads(line) for line in (folder / "out.jsonl").read_text().splitlines()]
    assert len(outcomes) == 2 * len(SESSIONS)
    per_session = {s: fake.tickets_of_session(s) for s in SESSIONS}
    assert all(len(tickets) == 1 for tickets in per_session.values()), per_session
    for outcome in outcomes:
        assert outcome["record"]["id"] == str(per_session[outcome["session_id"]][0]["id"]), outcome
    count("crashes", events=4 * len(SESSIONS), crashes=1, faults=1, records_expected=len(SESSIONS),
          records_found=len(fake.tickets), duplicates=len(fake.tickets) - len(SESSIONS),
          lost=sum(1 for tickets in per_session.values() if not tickets))
