"""``crmhub records`` and ``crmhub records close`` on the ``local`` CRM's records file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path


def crmhub(*args: str, cwd: Path, stdin: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "CRMHUB_LOAD_PLUGINS": "builtin,local", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "crmhub", *args], cwd=cwd, input=stdin, capture_output=True, text=True,
        env=environ, timeout=120,
    )


def assigned(n: int, session: str, user: str) -> str:
    return json.dumps({
        "id": f"e{n}", "type": "session.assigned", "at": f"2026-11-25T09:3{n}:00Z",
        "session": {"id": session, "channel": "call", "leaf_queue": {"id": "q-42"}, "end_user": {"id": user}},
    }) + "\n"


def test_list_and_close_local_records(tmp_path: Path) -> None:
    (tmp_path / "settings").mkdir()
    (tmp_path / "settings" / "local.toml").write_text('[crm]\nplugin = "local"\n[crm.local]\npath = "data/records.db"\n')
    config = ["--config", "settings/local.toml"]

    empty = crmhub("records", *config, cwd=tmp_path)
    assert (empty.returncode, empty.stdout) == (0, "no records\n")
    assert not (tmp_path / "settings" / "data" / "records.db").exists()  # listing creates nothing

    replay = crmhub("replay", "-", *config, cwd=tmp_path, stdin=assigned(1, "call-1", "u-1") + assigned(2, "call-2", "u-2"))
    assert replay.returncode == 0, replay.stderr
    assert (tmp_path / "settings" / "data" / "records.db").exists()  # relative to the settings file

    table = crmhub("records", *config, cwd=tmp_path).stdout.splitlines()
    assert table[0].split() == ["ID", "STATUS", "CREATED", "CLOSED", "SESSION", "QUEUE", "NOTES", "TITLE"]
    assert [row.split()[:2] + row.split()[4:6] for row in table[1:]] == [
        ["1", "open", "call-1", "q-42"], ["2", "open", "call-2", "q-42"],
    ]

    closed = crmhub("records", "close", "1", "--at", "2026-11-26T08:00:00+01:00", *config, cwd=tmp_path)
    assert closed.returncode == 0, closed.stderr
    assert "record 1 closed at 2026-11-26T08:00:00+01:00" in closed.stdout
    now = crmhub("records", *config, "close", "2", cwd=tmp_path)  # --config given to the group
    assert now.returncode == 0, now.stderr

    listed = [json.loads(line) for line in crmhub("records", "--json", *config, cwd=tmp_path).stdout.splitlines()]
    assert [(r["id"], r["session_id"], r["status"]) for r in listed] == [("1", "call-1", "closed"), ("2", "call-2", "closed")]
    assert listed[0]["closed_at"] == "2026-11-26T08:00:00+01:00"
    assert datetime.fromisoformat(listed[1]["closed_at"]).tzinfo is not None

    unknown = crmhub("records", "close", "99", *config, cwd=tmp_path)
    assert unknown.returncode == 1
    assert "no local record with id '99'" in unknown.stderr
    for bad_time in ("yesterday", "2026-11-26T08:00:00"):
        bad = crmhub("records", "close", "1", "--at", bad_time, *config, cwd=tmp_path)
        assert bad.returncode == 2
        assert "--at" in bad.stderr and "Traceback" not in bad.stderr


OTHER_CRM = '''\
from marshmallow import Schema
from crmhub import hookimpl

@hookimpl
def crm_name():
    return "otherx"

@hookimpl
def crm_settings_schema():
    return Schema()
'''


def test_records_refuse_another_crm(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "crmhub_otherx-1.0.dist-info").mkdir(parents=True)
    (site / "crmhub_otherx-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: crmhub-otherx\nVersion: 1.0\n")
    (site / "crmhub_otherx-1.0.dist-info" / "entry_points.txt").write_text("[crmhub]\notherx = crmhub_otherx\n")
    (site / "crmhub_otherx.py").write_text(OTHER_CRM)
    (tmp_path / "crmhub.toml").write_text('[crm]\nplugin = "otherx"\n')
    env = {"PYTHONPATH": str(site), "CRMHUB_LOAD_PLUGINS": "builtin,local,otherx"}

    for args in (["records"], ["records", "close", "1"]):
        result = crmhub(*args, cwd=tmp_path, env=env)
        assert result.returncode == 2
        assert "the settings select 'otherx'" in result.stderr
