"""``crmhub check`` against Kustomer: the read-only calls, through the plugin manager, replayed strictly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crmhub.core.models import CheckResult
from crmhub.testing import run_check_crm, scan_for_credentials

FIXTURES = Path(__file__).parent / "fixtures" / "check"
KEY = "test-api-key-never-shown"
QUEUE, TEAM = "65aa0b1c2d3e4f5a6b7c8d90", "65aa0b1c2d3e4f5a6b7c8d91"
BASE = {"org_name": "acme", "api_key": KEY, "anonymous_customer_id": "5f3c9a0b1d2e3f4a5b6c7d8e"}
ROUTED = {"queues": {"q-42": {"queue": QUEUE, "team": TEAM}, "q-43": {"queue": QUEUE}}}


def run_checks(fixture: Path | dict[str, Any], **settings: Any) -> list[CheckResult]:
    return run_check_crm("kustomer", {**BASE, **settings}, fixture, secrets=(KEY,))


def test_every_check_passes_and_a_queue_shared_by_two_leaf_queues_is_read_once() -> None:
    assert run_checks(FIXTURES / "all_ok.json", **ROUTED) == [
        CheckResult("credentials", True, "signed in at https://acme.api.kustomerapp.com as crmhub integration (machine user)"),
        CheckResult("anonymous_customer_id", True, "'Anonymous caller' (anonymous sessions are filed under it)"),
        CheckResult("leaf_queue_attribute crmhubLeafQueueStr", True, "'crmhub leaf queue' on the Conversation klass"),
        CheckResult(f"queue {QUEUE}", True, "'Billing' (queues: q-42, q-43)"),
        CheckResult(f"team {TEAM}", True, "'Tier 1' (queues: q-42)"),
    ]


def test_without_routing_no_queue_or_team_is_read() -> None:
    fixture = json.loads((FIXTURES / "all_ok.json").read_text())
    unrouted = {**fixture, "exchanges": fixture["exchanges"][:3]}
    assert [(r.name, r.ok) for r in run_checks(unrouted)] == [
        ("credentials", True), ("anonymous_customer_id", True), ("leaf_queue_attribute crmhubLeafQueueStr", True),
    ]


def test_a_refused_api_key_stops_the_checks_with_kustomers_reason() -> None:
    [result] = run_checks(FIXTURES / "bad_credentials.json", **ROUTED)
    assert (result.name, result.ok) == ("credentials", False)
    assert "(401): unauthorized: Invalid or expired token" in result.detail
    assert "https://acme.api.kustomerapp.com" in result.detail


def test_each_misconfiguration_is_reported_with_what_to_fix() -> None:
    results = run_checks(FIXTURES / "problems.json", **ROUTED)
    assert [(r.name, r.ok) for r in results] == [
        ("credentials", True),
        ("anonymous_customer_id", False),
        ("leaf_queue_attribute crmhubLeafQueueStr", False),
        (f"queue {QUEUE}", False),
        (f"team {TEAM}", False),
    ]
    details = [r.detail for r in results[1:]]
    assert details[0] == "Kustomer has no customer 5f3c9a0b1d2e3f4a5b6c7d8e (anonymous sessions are filed under it)"
    assert details[1] == "the Conversation klass has no custom attribute crmhubLeafQueueStr: create it in Kustomer"
    assert details[2] == f"Kustomer has no queue {QUEUE} (queues: q-42, q-43)"
    assert "(403; check the key's roles): forbidden: missing role org.permission.team.read (queues: q-42)" in details[3]


def test_the_check_fixtures_hold_no_credentials() -> None:
    files = sorted(FIXTURES.glob("*.json"))
    assert len(files) == 3
    assert scan_for_credentials(files) == []
