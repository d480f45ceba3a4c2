"""End to end: host events through ``crmhub.Dispatcher`` with the Kustomer plugin, over replayed
Kustomer exchanges (built from developer.kustomer.com's reference; no Kustomer traffic is public).

One end user, one leaf queue, five sessions in one process: a new customer and a new conversation
(the org's tag ids listed once, then carried by the create); a second session appended to the open
conversation (its tags already there: the note alone); a third, of another session type, after the
agent marked it done, inside the 3-day window (reopened by one PATCH carrying the tag ids); a
fourth after it was done again 8 days earlier (new conversation); and an anonymous web chat
abandoned after 10 seconds, filed under the configured anonymous customer (its tag created first,
the org having deleted it). Each step's fixture is replayed strictly (every request must match
method, URL, query and JSON body, and every expected request must be made); the test also spells
out the calls and checks the outcomes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crmhub import Dispatcher
from crmhub.testing import scan_for_credentials
from crmhub.testing.replay import replay  # the package attribute ``replay`` is shadowed by its submodule

E2E = Path(__file__).parent / "fixtures" / "e2e"
CUSTOMER = "66f1c2a3b4c5d6e7f8a9c002"
ANONYMOUS = "66f1c2a3b4c5d6e7f8a90000"
IVR_TAG, UJET_TAG, WEB_CHAT_TAG, MOBILE_TAG, AGENTS_TAG = (
    "6744f0e1d2c3b4a5968778a1", "6744f0e1d2c3b4a5968778a2", "6744f0e1d2c3b4a5968778a3", "6744f0e1d2c3b4a5968778a4",
    "6744f0e1d2c3b4a5968778a5",
)
FIRST = "6744a1b2c3d4e5f6a7b82001"
SECOND = "6744a1b2c3d4e5f6a7b82004"
CHAT = "6744a1b2c3d4e5f6a7b82005"
GRACE = {"id": "u-8", "phone": "+14155550111", "email": "grace@example.com", "name": "Grace H."}
QUEUE = {"id": "q-42", "path": ["Support", "Billing", "Refunds"]}


def config(folder: str | Path) -> dict[str, Any]:
    return {
        "crm": {
            "plugin": "kustomer",
            "kustomer": {
                "org_name": "acme",
                "api_key": "env:KUSTOMER_API_KEY",
                "anonymous_customer_id": ANONYMOUS,
                "queues": {"q-42": {"queue": "65aa0b1c2d3e4f5a6b7c8d90"}},
            },
        },
        "record_creation": {
            "append_to_open_record": True,
            "append_to_closed_within_days": 3,
            "abandoned_chats": "all",
            "add_session_type_tag": True,
            "add_platform_tag": True,
        },
        "store": {"url": "sqlite:///" + str(Path(folder) / "state.db")},
    }


def _call(
    event_id: str, session_id: str, at: str, started: str, session_type: str = "Voice Inbound (IVR)"
) -> dict[str, Any]:
    return {
        "id": event_id, "type": "session.assigned", "at": at,
        "session": {
            "id": session_id, "channel": "call", "session_type": session_type, "leaf_queue": QUEUE,
            "end_user": GRACE, "dialed_number": "+18005550199", "language": "en", "menu_path": "Billing/Refunds",
            "started_at": started,
        },
        "agent": {"id": "a-3", "email": "sam@example.com"},
    }


EVENTS: list[list[dict[str, Any]]] = [
    [_call("evt-1", "call-2001", "2026-11-25T09:30:05Z", "2026-11-25T09:29:40Z")],
    [_call("evt-2", "call-2002", "2026-11-25T11:00:00Z", "2026-11-25T10:59:31Z")],
    [_call("evt-3", "call-2003", "2026-11-27T10:00:00Z", "2026-11-27T09:59:12Z", "Voice Inbound (Mobile)")],
    [_call("evt-4", "call-2004", "2026-12-05T10:00:00Z", "2026-12-05T09:59:02Z")],
    [{
        "id": "evt-5", "type": "session.abandoned", "at": "2026-12-05T11:00:00Z",
        "session": {
            "id": "chat-2005", "channel": "chat", "session_type": "Messaging Inbound (Web Chat)", "leaf_queue": QUEUE,
            "end_user": {}, "language": "en", "started_at": "2026-12-05T10:59:50Z",
        },
    }],
]

# (fixture, the calls in order as (method, path), the outcome's action, its record id, words of its reason)
STEPS = [
    (
        "e2e_1_new_customer_new_record.json",
        [
            ("GET", "/v1/customers/externalId=u-8"), ("GET", "/v1/customers/phone=+14155550111"),
            ("GET", "/v1/customers/email=grace@example.com"),
            ("POST", "/v1/customers"), ("GET", "/v1/tags"), ("POST", f"/v1/customers/{CUSTOMER}/conversations"),
            ("POST", f"/v1/conversations/{FIRST}/notes"),
        ],
        "created", FIRST, "new record: no open record for this end user in leaf queue q-42",
    ),
    (
        "e2e_2_append_to_open.json",
        [("GET", f"/v1/conversations/{FIRST}"), ("POST", f"/v1/conversations/{FIRST}/notes")],
        "appended", FIRST, f"appended to open record {FIRST}",
    ),
    (
        "e2e_3_reopen_within_window.json",
        [("GET", f"/v1/conversations/{FIRST}"), ("GET", f"/v1/customers/{CUSTOMER}/conversations"),
         ("PATCH", f"/v1/conversations/{FIRST}"), ("POST", f"/v1/conversations/{FIRST}/notes")],
        "reopened", FIRST, "within 3 days (rule 2)",
    ),
    (
        "e2e_4_new_record_after_window.json",
        [("GET", f"/v1/conversations/{FIRST}"), ("GET", f"/v1/customers/{CUSTOMER}/conversations"),
         ("POST", f"/v1/customers/{CUSTOMER}/conversations"), ("POST", f"/v1/conversations/{SECOND}/notes")],
        "created", SECOND, "new record: no open record for this end user in leaf queue q-42",
    ),
    (
        "e2e_5_abandoned_anonymous_chat.json",
        [("POST", "/v1/tags"), ("POST", f"/v1/customers/{ANONYMOUS}/conversations"),
         ("POST", f"/v1/conversations/{CHAT}/notes")],
        "created", CHAT, "short-abandoned chat: records for all abandoned chats (rule 6)",
    ),
]


def test_five_sessions_through_the_dispatcher(tmp_path: Path) -> None:
    host = "https://acme.api.kustomerapp.com"
    with Dispatcher.from_config(config(tmp_path), environ={"KUSTOMER_API_KEY": "test-key"}) as dispatcher:
        for events, (fixture, calls, action, record_id, reason) in zip(EVENTS, STEPS, strict=True):
            with replay(E2E / fixture) as seen:
                outcomes = [dispatcher.handle(event).to_dict() for event in events]
            assert [(method, url.removeprefix(host)) for method, url, *_ in seen.calls] == calls, fixture
            last = outcomes[-1]
            assert (last["action"], last["record"]["crm"], last["record"]["id"]) == (action, "kustomer", record_id)
            assert reason in last["reason"], last["reason"]
            assert last["record"]["status"] == "open"
        assert dispatcher.session("call-2004").state.record.id == SECOND


def test_the_requests_carry_the_marks_tags_and_notes() -> None:
    """The bodies the fixtures pin down, spelled out: the session and leaf-queue marks on each new
    conversation, tag ids in Kustomer's ``tags`` attribute, appends as notes, reopen as status open
    with the conversation's tag ids (an agent's tag kept) plus the new session type's."""
    from crmhub.testing import load_fixture

    def bodies(fixture: str) -> list[tuple[str, str, Any]]:
        return [(e["request"]["method"], e["request"]["url"], e["request"].get("json"))
                for e in load_fixture(E2E / fixture)["exchanges"]]

    first = bodies("e2e_1_new_customer_new_record.json")
    assert first[3][2] == {"name": "Grace H.", "externalId": "u-8", "phones": [{"phone": "+14155550111"}],
                           "emails": [{"email": "grace@example.com"}]}
    assert first[5][2] == {"externalId": "crmhub-call-2001", "name": "IVR Call call-2001", "status": "open",
                           "tags": [IVR_TAG, UJET_TAG], "custom": {"crmhubLeafQueueStr": "q-42"},
                           "queue": {"id": "65aa0b1c2d3e4f5a6b7c8d90"}}
    assert first[6][2]["body"].startswith("Session: call-2001\n")
    append = bodies("e2e_2_append_to_open.json")
    assert [method for method, _, _ in append] == ["GET", "POST"]
    assert append[1][2]["body"].startswith("Session: call-2002\n")
    reopen = bodies("e2e_3_reopen_within_window.json")
    assert reopen[2][2] == {"status": "open", "tags": [IVR_TAG, UJET_TAG, AGENTS_TAG, MOBILE_TAG]}
    assert reopen[3][2]["body"].startswith("Session: call-2003\n")
    assert bodies("e2e_4_new_record_after_window.json")[2][2]["tags"] == [IVR_TAG, UJET_TAG]
    chat = bodies("e2e_5_abandoned_anonymous_chat.json")
    assert chat[0][2] == {"name": "Messaging Inbound - Web Chat"}
    assert chat[1][2] == {"externalId": "crmhub-chat-2005", "name": "Web Chat chat-2005", "status": "open",
                          "tags": [WEB_CHAT_TAG, UJET_TAG], "custom": {"crmhubLeafQueueStr": "q-42"},
                          "queue": {"id": "65aa0b1c2d3e4f5a6b7c8d90"}}
    assert "End user: anonymous" in chat[2][2]["body"]


def test_e2e_fixtures_hold_no_credentials() -> None:
    files = sorted(E2E.glob("*.json"))
    assert len(files) == len(STEPS)
    assert scan_for_credentials(files) == []


@pytest.mark.parametrize("fixture", [step[0] for step in STEPS])
def test_e2e_fixtures_say_where_they_come_from(fixture: str) -> None:
    import json

    data = json.loads((E2E / fixture).read_text(encoding="utf-8"))
    assert data["provenance"] == "built from the vendor API reference, not recorded"
    assert data["doc"].startswith("https://developer.kustomer.com/")
