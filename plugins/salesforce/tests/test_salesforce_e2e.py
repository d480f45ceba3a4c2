"""End to end: host events through ``crmhub.Dispatcher`` with the Salesforce plugin, over recorded
REST exchanges (fixtures/e2e/scenario.json), checking every request sent and every outcome."""

from __future__ import annotations

from datetime import datetime, timezone

from pathlib import Path
from typing import Any

import pytest

from crmhub import Dispatcher
from crmhub.testing import replay, scan_for_credentials

FIXTURES = Path(__file__).parent / "fixtures"
SCENARIO = FIXTURES / "e2e" / "scenario.json"
DATA = "/services/data/v60.0"
ADA = {"id": "u-7", "phone": "+14155550100", "email": "ada@example.com", "name": "Ada L."}
Q42 = {"id": "q-42", "path": ["Support", "Billing", "Refunds"]}


def config(tmp_path: Path) -> dict[str, Any]:
    return {
        "crm": {
            "plugin": "salesforce",
            "salesforce": {
                "client_id": "test-client-id",
                "client_secret": "env:SALESFORCE_CLIENT_SECRET",
                "login_url": "https://acme.my.salesforce.com",
                "upsert_field": "Crmhub_Session_Id__c",
                "queue_owners": {"q-42": "00GHu000003Rfnd1AA"},
                "person_cache_seconds": 86400,
            },
        },
        "record_creation": {"append_to_open_record": True, "append_to_closed_within_days": 3, "abandoned_chats": "all"},
        "store": {"url": "sqlite:///" + str(tmp_path / "state.db")},
    }


def assigned(event_id: str, session_id: str, at: str, started: str, leaf_queue: dict[str, Any] = Q42) -> dict[str, Any]:
    return {
        "id": event_id, "type": "session.assigned", "at": at,
        "session": {
            "id": session_id, "channel": "call", "session_type": "Voice Inbound (IVR)", "leaf_queue": leaf_queue,
            "end_user": ADA, "dialed_number": "+18005550199", "language": "en", "menu_path": "Billing/Refunds",
            "started_at": started,
        },
        "agent": {"id": "a-3", "email": "sam@example.com"},
    }


@pytest.fixture
def dispatcher(tmp_path: Path):
    environ = {"CRMHUB_LOAD_PLUGINS": "builtin,salesforce", "SALESFORCE_CLIENT_SECRET": "test-client-secret"}
    with Dispatcher.from_config(config(tmp_path), environ=environ) as built:
        yield built


def test_one_end_user_s_sessions_through_the_dispatcher(dispatcher):
    with replay(SCENARIO) as seen:
        steps: list[tuple[dict[str, Any], int]] = []

        def handle(event: dict[str, Any]) -> dict[str, Any]:
            before = len(seen.calls)
            outcome = dispatcher.handle(event).to_dict()
            steps.append((outcome, len(seen.calls) - before))
            return outcome

        first = handle(assigned("evt-1", "call-2001", "2026-11-20T10:00:05Z", "2026-11-20T09:59:40Z"))
        again = handle(assigned("evt-1", "call-2001", "2026-11-20T10:00:05Z", "2026-11-20T09:59:40Z"))
        append = handle(assigned("evt-2", "call-2002", "2026-11-20T15:00:05Z", "2026-11-20T14:59:40Z"))
        reopen = handle(assigned("evt-3", "call-2003", "2026-11-23T10:00:05Z", "2026-11-23T09:59:40Z"))
        late = handle(assigned("evt-4", "call-2004", "2026-11-30T10:00:05Z", "2026-11-30T09:59:40Z"))
        chat = handle({
            "id": "evt-5", "type": "session.abandoned", "at": "2026-11-30T11:00:10Z",
            "session": {"id": "chat-2005", "channel": "chat", "session_type": "Messaging Inbound (Web Chat)",
                        "leaf_queue": Q42, "end_user": {}, "started_at": "2026-11-30T11:00:00Z"},
        })
        lost = handle(assigned("evt-6", "call-2006", "2026-11-30T12:00:05Z", "2026-11-30T11:59:40Z",
                               {"id": "q-77", "path": ["Support", "Shipping"]}))
        retried = dispatcher.retry_queued(now=datetime(2100, 1, 1, tzinfo=timezone.utc))  # past any backoff

    assert (first["action"], first["record"]["id"], first["record"]["crm_status"]) == ("created", "500Hu00000E2e01AAA", "New")
    assert first["record"]["url"] == "https://acme.my.salesforce.com/lightning/r/Case/500Hu00000E2e01AAA/view"
    assert first["reason"].startswith("new record: no open record for this end user in leaf queue q-42")
    assert (again["action"], again["record"]["id"]) == ("duplicate", "500Hu00000E2e01AAA")
    assert (append["action"], append["record"]["id"], append["record"]["status"]) == ("appended", "500Hu00000E2e01AAA", "open")
    assert (reopen["action"], reopen["record"]["id"], reopen["record"]["status"]) == ("reopened", "500Hu00000E2e01AAA", "open")
    assert "closed 2026-11-21T09:00:00+00:00, within 3 days (rule 2)" in reopen["reason"]
    assert (late["action"], late["record"]["id"]) == ("created", "500Hu00000E2e02AAA")
    assert (chat["action"], chat["record"]["id"]) == ("created", "500Hu00000E2e03AAA")
    assert "anonymous sessions always get a new record" in chat["reason"] and "short-abandoned chat" in chat["reason"]
    assert lost["action"] == "queued" and lost["record"] is None
    assert [(o.action, o.record.id if o.record else None) for o in retried] == [("created", "500Hu00000E2e04AAA")]
    assert "whose answer was lost, was found and kept" in retried[0].reason

    # token + the person with their Cases (one query) + CaseStatus + one composite call (Contact and Case);
    # nothing for a redelivery; the person is cached after, so each find is one query for the Cases
    assert [count for _, count in steps] == [4, 0, 2, 2, 2, 1, 2]
    paths = [(method, url.split("salesforce.com", 1)[1]) for method, url, *_ in seen.calls]
    query, comment, case = ("GET", f"{DATA}/query"), ("POST", f"{DATA}/sobjects/CaseComment"), f"{DATA}/sobjects/Case"
    composite = ("POST", f"{DATA}/composite")
    assert paths == [
        ("POST", "/services/oauth2/token"), query, query, composite,
        query, comment,
        query, composite,
        query, ("PATCH", f"{case}/Crmhub_Session_Id__c/call-2004"),
        ("PATCH", f"{case}/Crmhub_Session_Id__c/chat-2005"),
        query, ("PATCH", f"{case}/Crmhub_Session_Id__c/call-2006"),
        query,
    ]
    soql = [q["q"] for method, _, q, _, _ in seen.calls if method == "GET"]
    assert "(SELECT Id, Status, IsClosed, ClosedDate, CreatedDate, Crmhub_Leaf_Queue__c, Crmhub_Session_Id__c FROM Cases " in soql[0]
    assert "Crmhub_Leaf_Queue__c = 'q-42' AND (IsClosed = false OR ClosedDate >= 2026-11-20T10:00:05Z)" in soql[3]
    assert soql[-1].endswith("WHERE Crmhub_Session_Id__c = 'call-2006' ORDER BY CreatedDate ASC LIMIT 1")
    created, reopened = [body for method, url, _, body, _ in seen.calls if url.endswith("/composite")]
    assert created["allOrNone"] is True
    assert [sub["referenceId"] for sub in created["compositeRequest"]] == ["person", "record"]
    assert created["compositeRequest"][1]["body"]["ContactId"] == "@{person.id}"
    assert [(sub["method"], sub["referenceId"]) for sub in reopened["compositeRequest"]] == [("PATCH", "record"), ("POST", "note")]
    assert reopened["compositeRequest"][0]["body"] == {"Status": "New"}
    case_bodies = [sub["body"] for sub in created["compositeRequest"][1:]]
    case_bodies += [body for method, _, _, body, _ in seen.calls if method == "PATCH" and body and "Subject" in body]
    owners = [body.get("OwnerId") for body in case_bodies]
    assert owners == ["00GHu000003Rfnd1AA", "00GHu000003Rfnd1AA", "00GHu000003Rfnd1AA", None]


def test_no_fixture_holds_a_credential():
    files = sorted(FIXTURES.rglob("*.json"))
    assert len(files) >= 17
    assert scan_for_credentials(files) == []
