"""``crmhub check`` against Freshdesk: the read-only calls, through the plugin manager, replayed strictly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crmhub.core.models import CheckResult
from crmhub.testing import run_check_crm, scan_for_credentials

FIXTURES = Path(__file__).parent / "fixtures" / "check"
KEY = "test-api-key-never-shown"
BASE = {"domain": "acme", "api_key": KEY}
MAPPED = {
    "queue_field": "cf_crmhub_queue",
    "session_field": "cf_crmhub_session",
    "groups": {"q-42": 43000012345, "q-43": 43000012345, "q-77": 43000012346},
}


def run_checks(fixture: Path | dict[str, Any], **settings: Any) -> list[CheckResult]:
    return run_check_crm("freshdesk", {**BASE, **settings}, fixture, secrets=(KEY,))


def test_every_check_passes_and_a_group_shared_by_two_queues_is_read_once() -> None:
    assert run_checks(FIXTURES / "all_ok.json", **MAPPED) == [
        CheckResult(
            "credentials", True, "signed in at https://acme.freshdesk.com as crmhub integration <integration@acme.example>",
        ),
        CheckResult("permissions", True, "Global Access to tickets"),
        CheckResult("queue_field cf_crmhub_queue", True, "'crmhub leaf queue' (custom_text)"),
        CheckResult("session_field cf_crmhub_session", True, "'crmhub session' (custom_text)"),
        CheckResult("group 43000012345", True, "'Billing' (groups: q-42, q-43)"),
        CheckResult("group 43000012346", True, "'Support' (groups: q-77)"),
    ]


def test_with_marks_as_tags_and_no_groups_only_the_agent_is_read() -> None:
    fixture = json.loads((FIXTURES / "all_ok.json").read_text())
    only_me = {**fixture, "exchanges": fixture["exchanges"][:1]}
    assert [(r.name, r.ok) for r in run_checks(only_me)] == [("credentials", True), ("permissions", True)]


def test_a_refused_api_key_stops_the_checks_with_freshdesks_reason() -> None:
    [result] = run_checks(FIXTURES / "bad_credentials.json", **MAPPED)
    assert (result.name, result.ok) == ("credentials", False)
    assert "401" in result.detail and "You have to be logged in to perform this action." in result.detail
    assert "https://acme.freshdesk.com/api/v2" in result.detail


def test_each_misconfiguration_is_reported_with_what_to_fix() -> None:
    results = run_checks(FIXTURES / "problems.json", **MAPPED)
    assert results[1:] == [
        CheckResult(
            "permissions", False,
            "the agent sees only the tickets of their groups (Group Access): crmhub must see every ticket an end user "
            "requested; give the agent Global Access",
        ),
        CheckResult(
            "queue_field cf_crmhub_queue", False,
            "Freshdesk has no ticket field cf_crmhub_queue: create a single-line text field",
        ),
        CheckResult(
            "session_field cf_crmhub_session", False,
            "'Session' is a custom_dropdown field: crmhub writes ids into it, so it must be a text field",
        ),
        CheckResult("group 43000012345", True, "'Billing' (groups: q-42, q-43)"),
        CheckResult("group 43000012346", False, "Freshdesk has no group 43000012346 (groups: q-77)"),
    ]


def test_the_check_fixtures_hold_no_credentials() -> None:
    files = sorted(FIXTURES.glob("*.json"))
    assert len(files) == 3
    assert scan_for_credentials(files) == []
