"""End to end: host events through ``crmhub.Dispatcher`` with the Zendesk plugin, against recorded
Zendesk traffic (one fixture per step in ``fixtures/e2e``), checking the exact requests sent and
the outcomes.

The story of one end user in leaf queue q-42 (rule 1 on, rule 2 = 3 days, abandoned chats: all):

1. first call, unknown to Zendesk → user looked up (external id, phone, email), created, ticket created
2. second call the same morning → the remembered ticket is still open → one update appends to it
3. an agent solved the ticket; a call the next day → ticket reopened (status + comment in ONE update)
4. the ticket was solved again and closed; a call 13 days later → outside the window → new ticket
5. that ticket was closed the day before the next call → Zendesk cannot reopen it → follow-up ticket
6. an anonymous web chat abandoned before an agent answered → its own ticket, no requester
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import responses

from crmhub import Dispatcher
from crmhub.testing import replay

FIXTURES = Path(__file__).parent / "fixtures" / "e2e"
GRACE = {"id": "u-77", "phone": "+1 415 555 0111", "email": "grace@example.com", "name": "Grace H."}
REFUNDS = {"id": "q-42", "path": ["Support", "Billing", "Refunds"]}
API = "https://acme.zendesk.com/api/v2"


def call_assigned(number: int, at: str) -> dict[str, Any]:
    return {
        "id": f"evt-{number}", "type": "session.assigned", "at": at,
        "session": {
            "id": f"call-{number}", "channel": "call", "session_type": "Voice Inbound (IVR)",
            "leaf_queue": REFUNDS, "end_user": GRACE, "dialed_number": "+18005550199", "language": "en",
            "menu_path": "Billing/Refunds", "started_at": at,
        },
    }


ANONYMOUS_CHAT_ABANDONED = {
    "id": "evt-2006", "type": "session.abandoned", "at": "2026-12-10T11:00:30Z",
    "session": {
        "id": "chat-2006", "channel": "chat", "session_type": "Messaging Inbound (Web Chat)",
        "leaf_queue": REFUNDS, "end_user": {}, "language": "en", "started_at": "2026-12-10T11:00:00Z",
    },
}

STEPS = [
    ("01_new_end_user_new_ticket.json", call_assigned(2001, "2026-11-25T09:30:05Z")),
    ("02_append_to_open_ticket.json", call_assigned(2002, "2026-11-25T11:00:00Z")),
    ("03_reopen_solved_ticket.json", call_assigned(2003, "2026-11-26T10:00:00Z")),
    ("04_closed_too_long_ago_new_ticket.json", call_assigned(2004, "2026-12-09T10:00:00Z")),
    ("05_closed_ticket_follow_up.json", call_assigned(2005, "2026-12-10T10:00:00Z")),
    ("06_abandoned_anonymous_chat.json", ANONYMOUS_CHAT_ABANDONED),
]


def settings(tmp_path: Path) -> dict[str, Any]:
    return {
        "crm": {"plugin": "zendesk", "zendesk": {
            "subdomain": "acme", "email": "agent@example.com", "api_token": "env:ZENDESK_API_TOKEN",
            "default_phone_region": "US",
            "user_cache_seconds": 3600,  # the story's requester stays cached however slow the test machine
        }},
        "record_creation": {
            "append_to_open_record": True, "append_to_closed_within_days": 3, "abandoned_chats": "all",
            "add_session_type_tag": True, "add_platform_tag": True, "title": "{CALL_TYPE} {CALL_ID}",
        },
        "store": {"url": "sqlite:///" + str(tmp_path / "state.db")},
    }


def requests_of(calls: list[tuple[Any, ...]]) -> list[tuple[str, str]]:
    return [(method, url.removeprefix(API)) for method, url, *_ in calls]


@pytest.fixture
def run(tmp_path: Path) -> Any:
    """Handle the steps in order; each step's Zendesk traffic must match its fixture exactly."""
    dispatcher = Dispatcher.from_config(settings(tmp_path), environ={"ZENDESK_API_TOKEN": "test-token"})
    results = []
    for name, event in STEPS:
        with replay(FIXTURES / name) as seen:
            outcome = dispatcher.handle(event)
        results.append((outcome, seen.calls))
    yield results
    dispatcher.close()


def test_first_call_creates_the_user_and_the_ticket(run: Any) -> None:
    outcome, calls = run[0]
    assert outcome.action == "created" and outcome.record.id == "5001"
    assert outcome.record.to_dict() == {
        "crm": "zendesk", "id": "5001", "url": "https://acme.zendesk.com/agent/tickets/5001",
        "status": "open", "crm_status": "new",
    }
    assert outcome.reason.startswith("new record: no open record for this end user in leaf queue q-42")
    assert requests_of(calls) == [
        ("GET", "/users/search.json"), ("GET", "/users/search.json"), ("GET", "/users/search.json"),
        ("POST", "/users/create_or_update.json"), ("POST", "/tickets.json"),
    ]
    assert [c[2] for c in calls[:3]] == [
        {"external_id": "u-77"}, {"query": "phone:+14155550111"}, {"query": "email:grace@example.com"}]
    assert calls[3][3] == {"user": {"name": "Grace H.", "role": "end-user", "external_id": "u-77",
                                    "phone": "+14155550111", "email": "grace@example.com"}}
    ticket = calls[4][3]["ticket"]
    assert ticket["subject"] == "IVR Call call-2001" and ticket["external_id"] == "call-2001"
    assert ticket["requester_id"] == 9101 and ticket["comment"]["public"] is False
    assert ticket["tags"] == ["voice_inbound_ivr", "ujet", "crmhub_queue_q_42"]
    assert calls[4][4]["Idempotency-Key"] == "crmhub-call-2001"


def test_second_call_appends_with_one_update(run: Any) -> None:
    outcome, calls = run[1]
    assert (outcome.action, outcome.record.id, outcome.record.status) == ("appended", "5001", "open")
    assert requests_of(calls) == [("GET", "/tickets/5001.json"), ("PUT", "/tickets/5001.json")]
    update = calls[1][3]["ticket"]
    assert update["comment"]["public"] is False and "Session: call-2002" in update["comment"]["body"]
    assert "tags" not in update and "status" not in update and "subject" not in update


def test_solved_ticket_is_reopened_with_status_and_comment_in_one_update(run: Any) -> None:
    outcome, calls = run[2]
    assert (outcome.action, outcome.record.id, outcome.record.crm_status) == ("reopened", "5001", "open")
    assert "closed 2026-11-25T15:00:00+00:00, within 3 days (rule 2)" in outcome.reason
    assert requests_of(calls) == [
        ("GET", "/tickets/5001.json"), ("GET", "/users/9101/tickets/requested.json"), ("PUT", "/tickets/5001.json")]
    assert calls[1][2]["include"] == "metric_sets"
    update = calls[2][3]["ticket"]
    assert update["status"] == "open" and "Session: call-2003" in update["comment"]["body"]
    assert update["safe_update"] is True and update["updated_stamp"] == "2026-11-25T15:00:00Z"


def test_ticket_closed_too_long_ago_gets_a_new_ticket(run: Any) -> None:
    outcome, calls = run[3]
    assert (outcome.action, outcome.record.id) == ("created", "5002")
    assert requests_of(calls) == [
        ("GET", "/tickets/5001.json"), ("GET", "/users/9101/tickets/requested.json"), ("POST", "/tickets.json")]
    assert calls[2][3]["ticket"]["requester_id"] == 9101


def test_closed_ticket_inside_the_window_gets_a_follow_up(run: Any) -> None:
    outcome, calls = run[4]
    assert (outcome.action, outcome.record.id, outcome.follow_up_of) == ("created", "5003", "5002")
    assert outcome.to_dict()["follow_up_of"] == "5002"
    assert "follow-up" in outcome.reason
    assert requests_of(calls) == [
        ("GET", "/tickets/5002.json"), ("GET", "/users/9101/tickets/requested.json"), ("POST", "/tickets.json")]
    follow_up = calls[2][3]["ticket"]
    assert follow_up["via_followup_source_id"] == 5002 and follow_up["external_id"] == "call-2005"
    assert follow_up["subject"] == "IVR Call call-2004" and follow_up["requester_id"] == 9101
    assert "crmhub_queue_q_42" in follow_up["tags"]
    assert calls[2][4]["Idempotency-Key"] == "crmhub-call-2005"


def test_abandoned_anonymous_chat_gets_a_ticket_without_requester(run: Any) -> None:
    outcome, calls = run[5]
    assert (outcome.action, outcome.record.id) == ("created", "5004")
    assert "abandoned" in outcome.reason
    assert requests_of(calls) == [("POST", "/tickets.json")]
    ticket = calls[0][3]["ticket"]
    assert "requester_id" not in ticket
    assert ticket["subject"] == "Web Chat chat-2006"
    assert ticket["tags"] == ["messaging_inbound_web_chat", "ujet", "crmhub_queue_q_42"]


def test_a_redelivered_event_makes_no_call(tmp_path: Path) -> None:
    with Dispatcher.from_config(settings(tmp_path), environ={"ZENDESK_API_TOKEN": "test-token"}) as dispatcher:
        with replay(FIXTURES / STEPS[0][0]):
            first = dispatcher.handle(STEPS[0][1])
        with responses.RequestsMock(assert_all_requests_are_fired=False) as zendesk:
            again = dispatcher.handle(STEPS[0][1])
    assert (again.action, again.record.id) == ("duplicate", first.record.id)
    assert len(zendesk.calls) == 0
