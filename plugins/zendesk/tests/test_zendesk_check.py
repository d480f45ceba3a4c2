"""``crmhub check`` against Zendesk: the read-only calls, through the plugin manager, replayed strictly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crmhub.core.models import CheckResult
from crmhub.testing import run_check_crm

FIXTURES = Path(__file__).parent / "fixtures" / "check"
TOKEN = "test-token-never-shown"
BASE = {"subdomain": "acme", "email": "integration@acme.example", "api_token": TOKEN}
MAPPED = {
    "session_id_field": 360000101,
    "leaf_queue_field": 360000102,
    "queue_groups": {"q-42": 360000042, "q-43": 360000042, "q-77": 360000077},
}


def run_checks(fixture: Path | dict[str, Any], **settings: Any) -> list[CheckResult]:
    return run_check_crm("zendesk", {**BASE, **settings}, fixture, secrets=(TOKEN,))


def test_every_check_passes_and_a_group_shared_by_two_queues_is_read_once() -> None:
    assert run_checks(FIXTURES / "all_ok.json", **MAPPED) == [
        CheckResult(
            "credentials", True, "signed in at https://acme.zendesk.com as crmhub integration <integration@acme.example>",
        ),
        CheckResult("permissions", True, "role admin"),
        CheckResult("session_id_field 360000101", True, "'crmhub session' (text)"),
        CheckResult("leaf_queue_field 360000102", True, "'crmhub leaf queue' (text)"),
        CheckResult("group 360000042", True, "'Billing' (queue_groups: q-42, q-43)"),
        CheckResult("group 360000077", True, "'Support' (queue_groups: q-77)"),
    ]


def test_without_fields_or_groups_in_the_settings_only_the_api_user_is_read() -> None:
    fixture = json.loads((FIXTURES / "all_ok.json").read_text())
    only_me = {**fixture, "exchanges": fixture["exchanges"][:1]}
    assert [(r.name, r.ok) for r in run_checks(only_me)] == [("credentials", True), ("permissions", True)]


def test_refused_credentials_stop_the_checks_with_zendesks_reason() -> None:
    [result] = run_checks(FIXTURES / "bad_credentials.json", **MAPPED)
    assert result.name == "credentials" and not result.ok
    assert "HTTP 401: Couldn't authenticate you" in result.detail
    assert "https://acme.zendesk.com/api/v2" in result.detail


def test_an_anonymous_answer_means_the_credentials_were_not_used() -> None:
    [result] = run_checks(FIXTURES / "anonymous.json", **MAPPED)
    assert result == CheckResult(
        "credentials", False,
        "Zendesk at https://acme.zendesk.com answered as an anonymous user: the email and api_token were not accepted",
    )


def test_each_misconfiguration_is_reported_with_what_to_fix() -> None:
    results = run_checks(FIXTURES / "problems.json", **MAPPED)
    assert [(r.name, r.ok) for r in results] == [
        ("credentials", True),
        ("permissions", False),
        ("session_id_field 360000101", False),
        ("leaf_queue_field 360000102", False),
        ("group 360000042", False),
        ("group 360000077", False),
    ]
    details = [r.detail for r in results[1:]]
    assert "restricted agent (sees tickets by 'groups')" in details[0]
    assert details[1] == "Zendesk has no ticket field 360000101"
    assert details[2] == "'Queue' is a tagger field: crmhub writes ids into it, so it must be a text field"
    assert details[3] == "group 'Billing (old)' is deleted (queue_groups: q-42, q-43)"
    assert details[4] == "Zendesk has no group 360000077 (queue_groups: q-77)"


def test_no_answer_from_zendesk_is_a_failed_credentials_check() -> None:
    timeout = {
        "doc": "https://developer.zendesk.com/api-reference/ticketing/users/users/#show-self",
        "exchanges": [{"request": {"method": "GET", "url": "https://acme.zendesk.com/api/v2/users/me.json"},
                       "response": {"timeout": True}}],
    }
    [result] = run_checks(timeout, **MAPPED)
    assert (result.name, result.ok) == ("credentials", False)
    assert "no answer from Zendesk" in result.detail
