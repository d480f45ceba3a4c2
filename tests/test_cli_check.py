"""``crmhub check``: the live CRM checked with read-only calls, one line per check, never a traceback or a secret."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from crmhub.core.models import CheckResult
from crmhub.local_records import LocalRecords
from crmhub.plugins import load_plugins

SECRET = "zd-secret-token-4f9a7c"
ZENDESK_SETTINGS = '''\
[crm]
plugin = "zendesk"

[crm.zendesk]
base_url = "{base_url}"
email = "integration@acme.example"
api_token = "env:ZENDESK_API_TOKEN"
timeout_seconds = 5
'''


def crmhub(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "CRMHUB_LOAD_PLUGINS": "builtin,local,zendesk", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "crmhub", *args], cwd=cwd, capture_output=True, text=True, env=environ, timeout=120,
    )


def assert_clean(result: subprocess.CompletedProcess[str]) -> None:
    for stream in (result.stdout, result.stderr):
        assert "Traceback" not in stream
        assert SECRET not in stream


@contextmanager
def fake_zendesk(answers: dict[str, tuple[int, Any]]) -> Iterator[tuple[str, list[tuple[str, str | None]]]]:
    """A local HTTP server answering ``answers[path]`` (status, JSON body); yields its URL and the
    requests it saw as ``(path, Authorization header)``."""
    seen: list[tuple[str, str | None]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            seen.append((self.path, self.headers.get("Authorization")))
            status, body = answers.get(self.path, (404, {"error": "RecordNotFound", "description": "Not found"}))
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            """Quiet: the test asserts on ``seen``."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def event(n: int, session: str) -> str:
    return json.dumps({
        "id": f"e{n}", "type": "session.assigned", "at": f"2026-11-25T09:3{n}:00Z",
        "session": {"id": session, "channel": "call", "leaf_queue": {"id": "q-42"}, "end_user": {"id": "u-1"}},
    }) + "\n"


def test_local_crm_passes_before_and_after_records_exist_and_check_creates_nothing(tmp_path: Path) -> None:
    (tmp_path / "local.toml").write_text('[crm]\nplugin = "local"\n[crm.local]\npath = "records.db"\n')

    fresh = crmhub("check", "local.toml", cwd=tmp_path)
    assert fresh.returncode == 0, fresh.stderr
    assert fresh.stdout.splitlines() == [
        f"ok   records file: {tmp_path.resolve() / 'records.db'} does not exist yet; it will be created with the first record",
        "local: 1 ok, 0 failed",
    ]
    assert not (tmp_path / "records.db").exists()

    (tmp_path / "events.jsonl").write_text(event(1, "call-1"))
    assert crmhub("replay", "events.jsonl", "--config", "local.toml", cwd=tmp_path).returncode == 0
    used = crmhub("check", "--config", "local.toml", cwd=tmp_path)
    assert used.returncode == 0, used.stderr
    assert used.stdout.splitlines()[1:] == ["ok   records database: 1 records, 1 open", "local: 2 ok, 0 failed"]


def test_the_local_check_through_the_facade_leaves_the_records_file_as_it_was(tmp_path: Path) -> None:
    hooks = load_plugins({"CRMHUB_LOAD_PLUGINS": "local"}).hooks.for_crm("local")
    section = hooks.settings_schema().load({"path": "records.db"})
    path = tmp_path / "records.db"
    assert hooks.check_crm(hooks.client(section, tmp_path), section) == [
        CheckResult("records file", True, f"{path} does not exist yet; it will be created with the first record"),
    ]
    LocalRecords(path).all()  # crmhub's own first use makes the (empty) tables
    before = path.read_bytes()
    assert hooks.check_crm(hooks.client(section, tmp_path), section) == [
        CheckResult("records file", True, str(path)),
        CheckResult("records database", True, "0 records, 0 open"),
    ]
    assert path.read_bytes() == before


def test_local_crm_pointed_at_a_file_that_is_not_its_records_fails_cleanly(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a database at all, just some words " * 40)
    other = sqlite3.connect(tmp_path / "other.db")
    other.execute("CREATE TABLE events (id TEXT PRIMARY KEY, body TEXT)")
    other.commit()
    other.close()
    partial = sqlite3.connect(tmp_path / "partial.db")
    partial.execute("CREATE TABLE records (id INTEGER PRIMARY KEY, session_id TEXT, title TEXT)")
    partial.commit()
    partial.close()

    for path, problem in (
        ("notes.txt", "cannot be read as a SQLite database"),
        ("other.db", "holds other tables (events)"),
        ("partial.db", "is not a crmhub records database: no table notes; no table record_keys; table records lacks "),
    ):
        (tmp_path / "crmhub.toml").write_text(f'[crm]\nplugin = "local"\n[crm.local]\npath = "{path}"\n')
        result = crmhub("check", cwd=tmp_path)  # crmhub.toml in the current folder by default
        assert result.returncode == 1
        assert_clean(result)
        lines = result.stdout.splitlines()
        assert lines[0].startswith("ok   records file:")
        assert lines[1].startswith("FAIL records database: ") and problem in lines[1]
        assert lines[2] == "local: 1 ok, 1 failed"
    assert (tmp_path / "notes.txt").read_text().startswith("not a database")


def test_zendesk_refusing_the_credentials_fails_with_its_reason_and_no_secret(tmp_path: Path) -> None:
    refusal = (401, {"error": "Couldn't authenticate you"})
    with fake_zendesk({"/api/v2/users/me.json": refusal}) as (url, seen):
        (tmp_path / "zendesk.toml").write_text(ZENDESK_SETTINGS.format(base_url=url))
        result = crmhub("check", "zendesk.toml", cwd=tmp_path, env={"ZENDESK_API_TOKEN": SECRET})
    assert result.returncode == 1
    assert_clean(result)
    assert result.stdout.splitlines() == [
        f"FAIL credentials: Zendesk GET /users/me.json failed with HTTP 401: Couldn't authenticate you "
        f"(check email and api_token) ({url}/api/v2)",
        "zendesk: 0 ok, 1 failed",
    ]
    assert [path for path, _ in seen] == ["/api/v2/users/me.json"]  # nothing else once the credentials fail
    assert seen[0][1] is not None and seen[0][1].startswith("Basic ")


def test_zendesk_accepting_an_admin_passes(tmp_path: Path) -> None:
    admin = {"user": {"id": 361000000001, "name": "crmhub integration", "email": "integration@acme.example",
                      "role": "admin", "ticket_restriction": None}}
    with fake_zendesk({"/api/v2/users/me.json": (200, admin)}) as (url, _):
        (tmp_path / "zendesk.toml").write_text(ZENDESK_SETTINGS.format(base_url=url))
        result = crmhub("check", "--config", "zendesk.toml", cwd=tmp_path, env={"ZENDESK_API_TOKEN": SECRET})
    assert result.returncode == 0, result.stderr
    assert_clean(result)
    assert result.stdout.splitlines() == [
        f"ok   credentials: signed in at {url} as crmhub integration <integration@acme.example>",
        "ok   permissions: role admin",
        "zendesk: 2 ok, 0 failed",
    ]


def test_an_unreachable_base_url_is_a_failed_check_not_a_crash(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{unused_port()}"
    (tmp_path / "zendesk.toml").write_text(ZENDESK_SETTINGS.format(base_url=url))
    result = crmhub("check", "zendesk.toml", cwd=tmp_path, env={"ZENDESK_API_TOKEN": SECRET})
    assert result.returncode == 1
    assert_clean(result)
    first = result.stdout.splitlines()[0]
    assert first.startswith("FAIL credentials: Zendesk could not be reached") and first.endswith(f"({url}/api/v2)")


def test_settings_errors_exit_2_before_any_call(tmp_path: Path) -> None:
    (tmp_path / "zendesk.toml").write_text(ZENDESK_SETTINGS.format(base_url=f"http://127.0.0.1:{unused_port()}"))
    env = {key: value for key, value in os.environ.items() if key != "ZENDESK_API_TOKEN"}
    result = subprocess.run(
        [sys.executable, "-m", "crmhub", "check", "zendesk.toml"], cwd=tmp_path, capture_output=True, text=True,
        env={**env, "CRMHUB_LOAD_PLUGINS": "builtin,local,zendesk"}, timeout=120,
    )
    assert result.returncode == 2
    assert "ZENDESK_API_TOKEN" in result.stderr and result.stdout == ""
    assert_clean(result)

    missing = crmhub("check", "absent.toml", cwd=tmp_path)
    assert missing.returncode == 2 and "not found" in missing.stderr
    both = crmhub("check", "a.toml", "--config", "b.toml", cwd=tmp_path)
    assert both.returncode == 2 and "give the settings file once" in both.stderr


NO_CHECKS_CRM = '''\
from marshmallow import Schema
from crmhub import hookimpl

@hookimpl
def crm_name():
    return "nochecks"

@hookimpl
def crm_settings_schema():
    return Schema()

@hookimpl
def crm_client(settings, config_dir):
    return object()
'''


def test_a_plugin_without_checks_is_reported_as_a_failed_check(tmp_path: Path) -> None:
    site = tmp_path / "site"
    dist_info = site / "crmhub_nochecks-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: crmhub-nochecks\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text("[crmhub]\nnochecks = crmhub_nochecks\n")
    (site / "crmhub_nochecks.py").write_text(NO_CHECKS_CRM)
    (tmp_path / "crmhub.toml").write_text('[crm]\nplugin = "nochecks"\n')
    result = crmhub("check", cwd=tmp_path, env={"PYTHONPATH": str(site), "CRMHUB_LOAD_PLUGINS": "builtin,nochecks"})
    assert result.returncode == 1
    assert_clean(result)
    assert result.stdout.splitlines() == [
        "FAIL nochecks: the nochecks plugin could not run its checks: plugin 'nochecks' (CRM 'nochecks') "
        "returned nothing from check_crm",
        "nochecks: 0 ok, 1 failed",
    ]
