"""``crmhub replay`` run as a real subprocess against the built-in ``local`` CRM."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

LOCAL_ONLY = {"CRMHUB_LOAD_PLUGINS": "builtin,local"}
SETTINGS = """\
[crm]
plugin = "local"

[crm.local]
path = "records.db"

[record_creation]
append_to_open_record = true
create_for_abandoned_calls = true
delay_chat_until_consumer_messages = 1

[store]
url = "sqlite:///state.db"
"""


def crmhub(*args: str, cwd: Path, stdin: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, **LOCAL_ONLY, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "crmhub", *args], cwd=cwd, input=stdin, capture_output=True, text=True,
        env=environ, timeout=120,
    )


def event(n: int, kind: str, session: str, *, channel: str = "call", user: str = "u-7", **extra: object) -> dict:
    return {
        "id": f"evt-{n}",
        "type": kind,
        "at": f"2026-11-25T09:{n // 60:02d}:{n % 60:02d}Z",
        "session": {
            "id": session, "channel": channel, "session_type": "Voice Inbound (IVR)",
            "leaf_queue": {"id": "q-42", "path": ["Support", "Billing"]}, "end_user": {"id": user},
        },
        **extra,
    }


def jsonl(*items: object) -> str:
    return "".join((item if isinstance(item, str) else json.dumps(item)) + "\n" for item in items)


def outcomes(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


@pytest.fixture()
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "crmhub.toml").write_text(SETTINGS)
    return tmp_path


def test_outcomes_in_input_order_rejected_lines_reported_and_summary(workdir: Path) -> None:
    (workdir / "events.jsonl").write_text(jsonl(
        event(1, "session.assigned", "call-1"),
        event(2, "session.assigned", "call-2"),
        "{not json",
        event(3, "session.ended", "call-1"),
        {**event(4, "session.assigned", "call-3"), "session": {"id": "call-3", "channel": "fax"}},
        "",
        event(5, "session.abandoned", "call-4", user="u-8"),
        event(1, "session.assigned", "call-1"),
        event(6, "session.assigned", "chat-1", channel="chat"),
    ))
    result = crmhub("replay", "events.jsonl", cwd=workdir)

    assert result.returncode == 1, result.stderr
    got = outcomes(result.stdout)
    assert [(o["event_id"], o["action"]) for o in got] == [
        ("evt-1", "created"), ("evt-2", "appended"), ("evt-3", "skipped"), ("evt-5", "created"),
        ("evt-1", "duplicate"), ("evt-6", "deferred"),
    ]
    assert got[1]["record"]["id"] == got[0]["record"]["id"]
    assert "line 3: event: not valid JSON" in result.stderr
    assert "line 5: session.channel:" in result.stderr
    assert "line 6" not in result.stderr  # a blank line is not an event
    assert "6 events handled, 2 lines rejected" in result.stderr
    assert "created 2, appended 1, reopened 0, deferred 1, skipped 1, duplicate 1, queued 0, failed 0" in result.stderr
    # evt-2 names rule 1, evt-5 rule 5, evt-6 rule 4; the others name no rule.
    assert "deciding rules: rule 1: 1, rule 4: 1, rule 5: 1, other: 3" in result.stderr
    assert "Traceback" not in result.stderr


def test_all_accepted_exits_0_with_output_file_and_stdin(workdir: Path) -> None:
    events = jsonl(event(1, "session.assigned", "call-1"), event(2, "session.ended", "call-1"))
    (workdir / "events.jsonl").write_text(events)

    first = crmhub("replay", "events.jsonl", "--output", "out.jsonl", cwd=workdir)
    assert first.returncode == 0, first.stderr
    assert first.stdout == ""
    assert [o["action"] for o in outcomes((workdir / "out.jsonl").read_text())] == ["created", "skipped"]

    again = crmhub("replay", "-", cwd=workdir, stdin=events)
    assert again.returncode == 0, again.stderr
    assert [o["action"] for o in outcomes(again.stdout)] == ["duplicate", "duplicate"]


def test_settings_errors_exit_2_listing_every_error(workdir: Path) -> None:
    (workdir / "events.jsonl").write_text(jsonl(event(1, "session.assigned", "call-1")))
    (workdir / "bad.toml").write_text(textwrap.dedent("""\
        [record_creation]
        abandoned_chats = "sometimes"
        title = "{CALLER}"
        """))
    bad = crmhub("replay", "events.jsonl", "--config", "bad.toml", cwd=workdir)
    assert bad.returncode == 2
    assert "record_creation.abandoned_chats:" in bad.stderr
    assert "record_creation.title:" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert bad.stdout == ""

    missing = crmhub("replay", "events.jsonl", "--config", "nowhere.toml", cwd=workdir)
    assert missing.returncode == 2
    assert "nowhere.toml" in missing.stderr

    usage = crmhub("replay", "events.jsonl", "--workers", "0", cwd=workdir)
    assert usage.returncode == 2


def test_workers_give_the_same_outcomes_as_one_worker(tmp_path: Path) -> None:
    """Interleaved sessions of distinct end users: the record ids may be numbered differently, but
    every outcome, its order and each session's record are the same."""
    lines = []
    for round_ in range(4):
        for s in range(12):
            channel = "chat" if s % 3 == 0 else "call"
            kind = ["session.assigned", "session.message", "session.connected", "session.ended"][round_]
            extra = {"message": {"from": "end_user", "text": "hi"}} if kind == "session.message" else {}
            if kind == "session.message" and channel == "call":
                continue
            lines.append(event(len(lines) + 1, kind, f"s-{s}", channel=channel, user=f"u-{s}", **extra))
    lines.append(event(1, "session.assigned", "s-0", channel="chat", user="u-0"))  # a redelivery
    results = {}
    for workers in ("1", "4"):
        folder = tmp_path / f"w{workers}"
        folder.mkdir()
        (folder / "crmhub.toml").write_text(SETTINGS)
        (folder / "events.jsonl").write_text(jsonl(*lines))
        run = crmhub("replay", "events.jsonl", "--workers", workers, cwd=folder)
        assert run.returncode == 0, run.stderr
        results[workers] = outcomes(run.stdout)

    def shape(found: list[dict]) -> list[tuple]:
        record_of = {}
        for o in found:
            if o["record"]:
                record_of.setdefault(o["session_id"], o["record"]["id"])
                assert o["record"]["id"] == record_of[o["session_id"]]
        assert len(set(record_of.values())) == len(record_of)  # one record per session, none shared
        return [(o["event_id"], o["session_id"], o["action"], o["record"] is not None) for o in found]

    assert [o["event_id"] for o in results["1"]] == [e["id"] for e in lines]
    assert shape(results["4"]) == shape(results["1"])
    assert {o["action"] for o in results["1"]} >= {"created", "deferred", "skipped", "duplicate"}


def test_dry_run_writes_nothing(workdir: Path) -> None:
    (workdir / "events.jsonl").write_text(jsonl(event(1, "session.assigned", "call-1")))

    dry = crmhub("replay", "events.jsonl", "--dry-run", cwd=workdir)
    assert dry.returncode == 0, dry.stderr
    [planned] = outcomes(dry.stdout)
    assert planned["action"] == "created"
    assert [call["call"] for call in planned["calls"]] == ["create_record"]
    assert "nothing was written" in dry.stderr

    real = crmhub("replay", "events.jsonl", cwd=workdir)
    assert [o["action"] for o in outcomes(real.stdout)] == ["created"]  # not a duplicate: nothing was kept


REFUSING_PLUGIN = '''\
"""A CRM that cannot be reached for sessions t-*, has a bug on b-*, and refuses every other create."""
from marshmallow import Schema
from crmhub import PermanentCrmError, TransientCrmError, hookimpl

@hookimpl
def crm_name():
    return "refusing"

@hookimpl
def crm_settings_schema():
    return Schema()

@hookimpl
def crm_client(settings, config_dir):
    return object()

@hookimpl
def find_record_for_session(client, session_id):
    return None

@hookimpl
def create_record(client, record):
    if record.session.id.startswith("t-"):
        raise TransientCrmError("the CRM is down", retry_after=30)
    if record.session.id.startswith("b-"):
        raise KeyError("ticket")
    raise PermanentCrmError("the CRM refused the ticket: subject is required")
'''


def test_failed_events_exit_1_and_queued_events_exit_0(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "crmhub_refusing-1.0.dist-info").mkdir(parents=True)
    (site / "crmhub_refusing-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: crmhub-refusing\nVersion: 1.0\n")
    (site / "crmhub_refusing-1.0.dist-info" / "entry_points.txt").write_text("[crmhub]\nrefusing = crmhub_refusing\n")
    (site / "crmhub_refusing.py").write_text(REFUSING_PLUGIN)
    (tmp_path / "crmhub.toml").write_text('[crm]\nplugin = "refusing"\n[store]\nurl = "sqlite:///state.db"\n')
    env = {"PYTHONPATH": str(site), "CRMHUB_LOAD_PLUGINS": "builtin,refusing"}

    queued = crmhub("replay", "-", cwd=tmp_path, env=env, stdin=jsonl(event(1, "session.assigned", "t-1")))
    assert queued.returncode == 0, queued.stderr
    assert [o["action"] for o in outcomes(queued.stdout)] == ["queued"]

    failed = crmhub("replay", "-", cwd=tmp_path, env=env, stdin=jsonl(
        event(2, "session.assigned", "p-1"), event(3, "session.assigned", "b-1"),
    ))
    assert failed.returncode == 1
    refused, bug = outcomes(failed.stdout)
    assert (refused["action"], bug["action"]) == ("failed", "failed")
    assert "subject is required" in refused["error"]
    assert "KeyError" in bug["error"]
    assert "failed 2" in failed.stderr
    assert "Traceback" not in failed.stderr  # a plugin bug is logged in one line, not a traceback
