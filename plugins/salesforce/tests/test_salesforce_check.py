"""``crmhub check`` against Salesforce: the read-only calls, through the plugin manager, replayed strictly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crmhub.core.models import CheckResult
from crmhub.testing import run_check_crm

FIXTURES = Path(__file__).parent / "fixtures" / "check"
BASE = {"client_id": "test-client-id", "client_secret": "test-client-secret", "login_url": "https://acme.my.salesforce.com"}
QUEUE, USER = "00GHu000003Rfnd1AA", "005Hu00000Agent1AAA"
MAPPED = {
    "person_external_id_field": "Crmhub_End_User_Id__c",
    "upsert_field": "Crmhub_Session_Id__c",
    "queue_owners": {"q-42": QUEUE, "q-43": QUEUE, "q-77": USER},
}


def run_checks(fixture: Path | dict[str, Any], **settings: Any) -> list[CheckResult]:
    return run_check_crm("salesforce", {**BASE, **settings}, fixture, secrets=("test-client-secret", "test-access-token"))


def test_every_check_passes() -> None:
    assert run_checks(FIXTURES / "all_ok.json", **MAPPED) == [
        CheckResult("credentials", True, "access token issued (client_credentials flow) for https://acme.my.salesforce.com"),
        CheckResult("api version v60.0", True, "https://acme.my.salesforce.com/services/data/v60.0/"),
        CheckResult("record object Case", True, "11 fields as the settings name them"),
        CheckResult("open status", True, "'New', the org's default open CaseStatus"),
        CheckResult("note object CaseComment", True, "3 fields as the settings name them"),
        CheckResult("person object Contact", True, "4 fields as the settings name them"),
        CheckResult(f"owner {QUEUE}", True, "a queue that takes Case records (queue_owners: q-42, q-43)"),
        CheckResult(f"owner {USER}", True, "an active user (queue_owners: q-77)"),
    ]


def test_a_records_relationship_of_another_name_is_named_with_the_setting_to_fix() -> None:
    results = run_checks(FIXTURES / "all_ok.json", **MAPPED, person_records_relationship="Case_Records__r")
    assert [r for r in results if not r.ok] == [CheckResult(
        "person object Contact", False,
        "the Case records of a Contact (through ContactId) are 'Cases', not 'Case_Records__r': set person_records_relationship",
    )]


def test_a_refused_token_request_stops_the_checks_with_salesforces_reason() -> None:
    [result] = run_checks(FIXTURES / "bad_credentials.json", **MAPPED)
    assert result == CheckResult(
        "credentials", False,
        "Salesforce refused the OAuth token request: HTTP 400 invalid_client: invalid client credentials "
        "(https://acme.my.salesforce.com/services/oauth2/token)",
    )


def test_an_api_version_the_org_lacks_stops_the_checks_that_need_it() -> None:
    results = run_checks(FIXTURES / "api_version_missing.json", api_version="v99.0", **MAPPED)
    assert [(r.name, r.ok) for r in results] == [("credentials", True), ("api version v99.0", False)]
    assert "HTTP 404 NOT_FOUND: The requested resource does not exist" in results[1].detail


def test_each_misconfiguration_is_reported_with_what_to_fix() -> None:
    results = run_checks(FIXTURES / "problems.json", open_status="Reopened", **MAPPED)
    assert [(r.name, r.ok) for r in results] == [
        ("credentials", True),
        ("api version v60.0", True),
        ("record object Case", False),
        ("open status", False),
        ("note object CaseComment", False),
        ("person object Contact", False),
        (f"owner {QUEUE}", False),
        (f"owner {USER}", False),
    ]
    by_name = {r.name: r.detail for r in results}
    assert by_name["record object Case"] == (
        "Case has no field Crmhub_Leaf_Queue__c (or this user cannot see it); Crmhub_Session_Id__c is not an External ID"
    )
    assert by_name["open status"] == (
        "'Reopened' (open_status) is not an active Case.Status value; active values: New, Working, Escalated, Closed"
    )
    assert by_name["note object CaseComment"] == "this user may not create CaseComment records"
    assert by_name["person object Contact"] == "Contact has no field Crmhub_End_User_Id__c (or this user cannot see it)"
    assert by_name[f"owner {QUEUE}"] == "not a queue that takes Case records in this org (queue_owners: q-42, q-43)"
    assert by_name[f"owner {USER}"] == "not an active user in this org (queue_owners: q-77)"


def test_an_owner_id_of_another_kind_is_refused_without_a_query() -> None:
    fixture = json.loads((FIXTURES / "all_ok.json").read_text())
    no_owner_queries = {**fixture, "exchanges": fixture["exchanges"][:6]}
    results = run_checks(no_owner_queries, **{**MAPPED, "queue_owners": {"q-42": "0PSHu0000004abcGAA"}})
    assert results[-1] == CheckResult(
        "owner 0PSHu0000004abcGAA", False, "neither a queue (00G…) nor a user (005…) id (queue_owners: q-42)",
    )


def test_the_settings_decide_which_fields_are_checked_and_how() -> None:
    from crmhub_salesforce.checks import CREATE, EXTERNAL_ID, UPDATE, person_needs, record_needs
    from crmhub_salesforce.config import config_from_settings
    from crmhub_salesforce.settings import SalesforceSettingsSchema

    config = config_from_settings(SalesforceSettingsSchema().load({**BASE, **MAPPED, "tags_field": "Tags__c"}), Path("."))
    needs = record_needs(config)
    assert needs["Status"] == {UPDATE}  # set on reopen; on create only when open_status is given
    assert needs["Tags__c"] == {CREATE, UPDATE}
    assert needs["Crmhub_Session_Id__c"] == {CREATE, EXTERNAL_ID}
    assert needs["IsClosed"] == set() and needs["OwnerId"] == {CREATE}
    assert person_needs(config, 0)["Crmhub_End_User_Id__c"] == {CREATE, EXTERNAL_ID}
    no_creates = config_from_settings(SalesforceSettingsSchema().load({**BASE, **MAPPED, "create_contacts": False}), Path("."))
    assert person_needs(no_creates, 0) == {"Phone": set(), "MobilePhone": set(), "Email": set(), "Crmhub_End_User_Id__c": set()}
