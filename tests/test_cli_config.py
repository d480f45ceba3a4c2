"""``crmhub config check``: every error listed with exit 2, or "ok" with the rules explained."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path


def crmhub(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "CRMHUB_LOAD_PLUGINS": "builtin,local", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "crmhub", *args], cwd=cwd, capture_output=True, text=True, env=environ, timeout=120
    )


GOOD = """\
[crm]
plugin = "local"

[crm.local]
path = "env:CRMHUB_TEST_RECORDS"

[record_creation]
append_to_open_record = true
append_to_closed_within_days = 3
delay_call_until_connected = true
create_for_abandoned_calls = true
abandoned_chats = "min_messages"
abandoned_chat_min_messages = 2
title = "{CALL_TYPE} {CALL_ID} {TIMESTAMP}"
add_session_type_tag = true
add_platform_tag = true
"""


def test_good_file_prints_ok_warnings_and_the_rules(tmp_path: Path) -> None:
    (tmp_path / "crmhub.toml").write_text(GOOD)
    result = crmhub("config", "check", cwd=tmp_path, env={"CRMHUB_TEST_RECORDS": "records.db"})
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert out[0] == "ok: crmhub.toml"
    assert any(line.startswith("warning: ") and "abandoned calls get none" in line for line in out)
    assert "calls: a record when the call connects to an agent (rule 3); abandoned calls get no record, " \
        "as only connected calls do (rules 3 and 5)" in out
    assert any(line.startswith("chats: ") and "at least 2 messages (rule 6)" in line for line in out)
    assert any("closed within the last 3 days" in line for line in out)
    assert "title: '{CALL_TYPE} {CALL_ID} {TIMESTAMP}', e.g. 'IVR Call call-1001 2026-11-25 09:29 UTC' (rule 7)" in out
    assert "tags: the session type and the platform tag 'UJET', e.g. Voice Inbound (IVR), UJET (rule 8)" in out


def test_bad_file_lists_every_error_including_a_missing_environment_variable(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text(GOOD + textwrap.dedent("""\
        timezone = "Mars/Olympus"

        [store]
        url = "mysql://db"

        [extras]
        x = 1
        """))
    positional = crmhub("config", "check", "bad.toml", cwd=tmp_path)
    option = crmhub("config", "check", "--config", "bad.toml", cwd=tmp_path)
    for result in (positional, option):
        assert result.returncode == 2
        assert result.stdout == ""
        assert result.stderr.startswith("bad.toml: ") and " problems:" in result.stderr.splitlines()[0]
        assert "  crm.local.path: environment variable CRMHUB_TEST_RECORDS is not set" in result.stderr
        assert "  record_creation.timezone: unknown time zone 'Mars/Olympus'" in result.stderr
        assert "  store.url: must be sqlite:///PATH" in result.stderr
        assert "  extras: unknown section" in result.stderr
        assert "Traceback" not in result.stderr


def test_missing_file_and_two_different_files_are_errors(tmp_path: Path) -> None:
    missing = crmhub("config", "check", cwd=tmp_path)
    assert missing.returncode == 2
    assert "crmhub.toml" in missing.stderr and "not found" in missing.stderr
    twice = crmhub("config", "check", "a.toml", "--config", "b.toml", cwd=tmp_path)
    assert twice.returncode == 2
    assert "give the settings file once" in twice.stderr
