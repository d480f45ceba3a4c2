"""``crmhub title preview``: the title and tags a record would get, as the dispatcher makes them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crmhub.plugins import load_plugins

INSTALLED_CRMS = set(load_plugins().hooks.crm_plugins())
SECRET_VALUE = "s3cr3t-Value-9f2c"

TAGGED = """\
[crm]
plugin = "{crm}"

[crm.{crm}]
{section}

[record_creation]
title = "{{CALL_TYPE}} {{PHONE_NUMBER}} {{TIMESTAMP}}"
timezone = "Europe/Berlin"
add_session_type_tag = true
add_platform_tag = true
"""
CRM_SECTIONS = {
    "local": 'path = "records.db"',
    "zendesk": 'subdomain = "acme"\nemail = "admin@acme.example"\napi_token = "env:CRMHUB_TEST_SECRET"',
    "freshdesk": 'domain = "acme"\napi_key = "env:CRMHUB_TEST_SECRET"',
    "kustomer": 'org_name = "acme"\napi_key = "env:CRMHUB_TEST_SECRET"\nanonymous_customer_id = "c-1"',
    "salesforce": 'client_id = "app"\nclient_secret = "env:CRMHUB_TEST_SECRET"',
}


def crmhub(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CRMHUB_")}
    return subprocess.run(
        [sys.executable, "-m", "crmhub", *args], cwd=cwd, capture_output=True, text=True, input=stdin,
        env={**environ, "CRMHUB_TEST_SECRET": SECRET_VALUE}, timeout=120,
    )


def settings(tmp_path: Path, crm: str, extra: str = "") -> Path:
    if crm not in INSTALLED_CRMS:
        pytest.skip(f"the {crm} plugin is not installed")
    path = tmp_path / "crmhub.toml"
    path.write_text(TAGGED.format(crm=crm, section=CRM_SECTIONS[crm]) + extra)
    return path


def event(session_id: str = "chat-7", channel: str = "chat", **session: object) -> dict[str, object]:
    return {
        "id": "evt-1", "type": "session.assigned", "at": "2026-11-25T22:30:05Z",
        "session": {"id": session_id, "channel": channel, **session},
    }


@pytest.mark.parametrize(
    ("crm", "tags"),
    [
        ("zendesk", "voice_inbound_ivr, ujet"),
        ("kustomer", "Voice Inbound - IVR, UJET"),
        ("freshdesk", "Voice Inbound (IVR), UJET"),
        ("local", "Voice Inbound (IVR), UJET"),
    ],
)
def test_the_sample_session_in_each_crms_tag_form(crm: str, tags: str, tmp_path: Path) -> None:
    settings(tmp_path, crm)
    result = crmhub("title", "preview", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"crm: {crm}",
        "session: call-1001 (the sample session)",
        "title template: {CALL_TYPE} {PHONE_NUMBER} {TIMESTAMP}",
        "title: IVR Call +18005550199 2026-11-25 10:29 CET",
        f"tags: {tags}",
    ]
    assert SECRET_VALUE not in result.stdout + result.stderr


def test_an_events_session_and_a_tag_form_pinned_in_the_settings(tmp_path: Path) -> None:
    settings(tmp_path, "zendesk", '\n[session_types."Messaging (WhatsApp)"]\nchannel = "chat"\n'
             'label = "WhatsApp Chat"\ntags = { zendesk = "whatsapp" }\n')
    (tmp_path / "event.json").write_text(json.dumps(event(session_type="Messaging (WhatsApp)", dialed_number="+4930123")))
    result = crmhub("title", "preview", "--config", "crmhub.toml", "--event", "event.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1] == "session: chat-7 (event evt-1 of event.json)"
    # no started_at: TIMESTAMP is the event's time, in the configured time zone
    assert lines[3] == "title: WhatsApp Chat +4930123 2026-11-25 23:30 CET"
    assert lines[4] == "tags: whatsapp, ujet"


def test_an_unknown_session_type_is_its_own_label_and_warned_about(tmp_path: Path) -> None:
    settings(tmp_path, "zendesk")
    result = crmhub("title", "preview", "crmhub.toml", "--event", "-", cwd=tmp_path,
                    stdin=json.dumps(event(session_type="Voice Inbound (Kiosk)")))
    assert result.returncode == 0, result.stderr
    assert "title: Voice Inbound (Kiosk) 2026-11-25 23:30 CET" in result.stdout
    assert "tags: voice_inbound_kiosk, ujet" in result.stdout
    assert "unknown session type 'Voice Inbound (Kiosk)'" in result.stderr
    assert "of stdin)" in result.stdout


def test_the_preview_is_what_the_dispatcher_would_create(tmp_path: Path) -> None:
    """The same event through ``replay --dry-run``: the planned create has the previewed title and tags."""
    settings(tmp_path, "local", '\n[session_types."Voice Inbound (IVR)"]\nchannel = "call"\nlabel = "IVR Call"\n'
             'tags = { local = "ivr-pinned" }\n')
    sent = event(
        "call-7", "call", session_type="Voice Inbound (IVR)", dialed_number="+18005550199",
        started_at="2026-11-25T22:29:40Z", end_user={"id": "u-7"}, leaf_queue={"id": "q-42"},
    )
    (tmp_path / "event.json").write_text(json.dumps(sent))
    (tmp_path / "events.jsonl").write_text(json.dumps(sent) + "\n")
    preview = crmhub("title", "preview", "--event", "event.json", cwd=tmp_path)
    assert preview.returncode == 0, preview.stderr
    shown = dict(line.split(": ", 1) for line in preview.stdout.splitlines())
    replay = crmhub("replay", "events.jsonl", "--dry-run", cwd=tmp_path)
    assert replay.returncode == 0, replay.stderr
    [planned] = json.loads(replay.stdout)["calls"]
    assert planned["call"] == "create_record"
    assert shown["title"] == planned["title"] == "IVR Call +18005550199 2026-11-25 23:29 CET"
    assert shown["tags"] == ", ".join(planned["tags"]) == "ivr-pinned, UJET"


def test_a_rejected_event_exits_1_naming_the_field(tmp_path: Path) -> None:
    settings(tmp_path, "local")
    (tmp_path / "bad.json").write_text(json.dumps({**event(), "at": "yesterday"}))
    (tmp_path / "broken.json").write_text('{"id": ')
    rejected = crmhub("title", "preview", "--event", "bad.json", cwd=tmp_path)
    assert rejected.returncode == 1
    assert rejected.stderr.startswith("Error: bad.json: event rejected: at: ")
    broken = crmhub("title", "preview", "--event", "broken.json", cwd=tmp_path)
    assert broken.returncode == 1
    assert broken.stderr.startswith("Error: broken.json: not a JSON event: ")
    for result in (rejected, broken):
        assert result.stdout == "" and "Traceback" not in result.stderr


def test_settings_and_usage_errors_exit_2_without_the_secret(tmp_path: Path) -> None:
    missing_file = crmhub("title", "preview", cwd=tmp_path)
    assert missing_file.returncode == 2
    assert "crmhub.toml" in missing_file.stderr and "not found" in missing_file.stderr

    path = settings(tmp_path, "zendesk")
    path.write_text(path.read_text().replace("{PHONE_NUMBER}", "{PHONE}"))
    bad = crmhub("title", "preview", path.name, cwd=tmp_path)
    assert bad.returncode == 2
    assert "record_creation.title: " in bad.stderr and "PHONE" in bad.stderr
    assert SECRET_VALUE not in bad.stdout + bad.stderr

    no_event = crmhub("title", "preview", "--event", "nowhere.json", cwd=tmp_path)
    twice = crmhub("title", "preview", "a.toml", "--config", "b.toml", cwd=tmp_path)
    assert no_event.returncode == twice.returncode == 2
    assert "nowhere.json" in no_event.stderr
    assert "give the settings file once" in twice.stderr
    for result in (missing_file, bad, no_event, twice):
        assert "Traceback" not in result.stderr
