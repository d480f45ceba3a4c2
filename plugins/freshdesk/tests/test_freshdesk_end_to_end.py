"""End to end: host events through ``crmhub.Dispatcher`` with the Freshdesk plugin, against
recorded Freshdesk exchanges (``fixtures/e2e``, one file per event, replayed strictly: every
request, its query and its JSON body must be the recorded one, and every recorded exchange must
be used).

The story of one end user (Ada, ``u-7``) in leaf queue ``q-42`` (mapped to a Freshdesk group):

1. a first call: new contact, new ticket 2001;
2. a second call while 2001 is open: appended (a new session-type tag, then a private note);
3. a call two days after 2001 was closed: reopened (status 2, then the note);
4. a call five days after 2001 was resolved again: outside the 3-day window, new ticket 2004;
5. an abandoned chat in leaf queue ``q-77``: a new chat ticket;
6. an anonymous abandoned chat: filed under ``anonymous_requester_email``;

and a redelivered event, which makes no call at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crmhub import Dispatcher
from crmhub.testing import Replay, replay

E2E = Path(__file__).parent / "fixtures" / "e2e"
ENVIRON = {"CRMHUB_LOAD_PLUGINS": "builtin,freshdesk", "FRESHDESK_API_KEY": "test-api-key"}
API = "https://acme.freshdesk.com/api/v2"
ADA = {"id": "u-7", "phone": "+14155550100", "email": "ada@example.com", "name": "Ada L."}
REFUNDS = {"id": "q-42", "path": ["Support", "Billing", "Refunds"]}
SALES = {"id": "q-77", "path": ["Support", "Sales"]}
GROUP = 43000012345
CONTACT = 43001234567


def event(
    event_id: str, kind: str, at: str, session_id: str, session_type: str, queue: dict[str, Any],
    end_user: dict[str, str], started_at: str,
) -> dict[str, Any]:
    return {
        "id": event_id, "type": kind, "at": at,
        "session": {
            "id": session_id, "channel": "chat" if session_id.startswith("chat") else "call",
            "session_type": session_type, "leaf_queue": queue, "end_user": end_user,
            "dialed_number": "+18005550199", "language": "en",
            "menu_path": "Billing/Refunds" if queue is REFUNDS else "Sales", "started_at": started_at,
        },
    }


def config(tmp_path: Path) -> dict[str, Any]:
    return {
        "crm": {
            "plugin": "freshdesk",
            "freshdesk": {
                "domain": "acme",
                "api_key": "env:FRESHDESK_API_KEY",
                "anonymous_requester_email": "anonymous@example.com",
                "groups": {"q-42": GROUP},
            },
        },
        "record_creation": {
            "append_to_open_record": True,
            "append_to_closed_within_days": 3,
            "create_for_abandoned_calls": True,
            "abandoned_chats": "all",
            "add_session_type_tag": True,
            "add_platform_tag": True,
        },
        "store": {"url": "sqlite:///" + str(tmp_path / "state.db")},
    }


def handle(dispatcher: Dispatcher, fixture: str | None, raw: dict[str, Any]) -> tuple[dict[str, Any], Replay]:
    """Handle one event while Freshdesk answers from ``fixture`` (no fixture: no call allowed)."""
    with replay(*([E2E / fixture] if fixture else [])) as seen:
        outcome = dispatcher.handle(raw).to_dict()
    return outcome, seen


def requests_of(seen: Replay) -> list[str]:
    return [f"{method} {url.removeprefix(API)}" for method, url, *_ in seen.calls]


def body(seen: Replay, index: int) -> dict[str, Any]:
    return seen.calls[index][3]


@pytest.fixture
def dispatcher(tmp_path: Path) -> Any:
    with Dispatcher.from_config(config(tmp_path), environ=ENVIRON) as built:
        yield built


def test_a_customer_story_through_the_dispatcher(dispatcher: Dispatcher) -> None:
    first = event("evt-2001", "session.assigned", "2026-11-20T10:00:05Z", "call-2001", "Voice Inbound (IVR)",
                  REFUNDS, ADA, "2026-11-20T10:00:00Z")
    outcome, seen = handle(dispatcher, "1_new_end_user_new_ticket.json", first)
    assert outcome["action"] == "created"
    assert outcome["record"] == {
        "crm": "freshdesk", "id": "2001", "url": "https://acme.freshdesk.com/a/tickets/2001",
        "status": "open", "crm_status": "open",
    }
    assert outcome["reason"].startswith("new record: no open record for this end user in leaf queue q-42")
    assert requests_of(seen) == ["GET /contacts"] * 4 + ["POST /contacts", "POST /tickets"]
    assert [call[2] for call in seen.calls[:4]] == [
        {"unique_external_id": "u-7"},
        {"phone": "+14155550100"},
        {"mobile": "+14155550100"},
        {"email": "ada@example.com"},
    ]
    created = body(seen, 5)
    assert created["requester_id"] == CONTACT and created["group_id"] == GROUP and created["source"] == 3
    assert created["tags"] == ["Voice Inbound (IVR)", "UJET", "crmhub-queue-q-42", "crmhub-session-call-2001"]

    second = event("evt-2002", "session.assigned", "2026-11-20T15:00:05Z", "call-2002", "Voice Inbound (Mobile)",
                   REFUNDS, ADA, "2026-11-20T15:00:00Z")
    outcome, seen = handle(dispatcher, "2_append_to_open_ticket.json", second)
    assert (outcome["action"], outcome["record"]["id"], outcome["record"]["status"]) == ("appended", "2001", "open")
    assert "appended to open record 2001" in outcome["reason"]
    assert requests_of(seen) == ["GET /tickets/2001", "PUT /tickets/2001", "POST /tickets/2001/notes"]
    assert body(seen, 1) == {"tags": ["Voice Inbound (IVR)", "UJET", "crmhub-queue-q-42", "crmhub-session-call-2001",
                                      "Voice Inbound (Mobile)"]}
    assert body(seen, 2)["private"] is True and "Session: call-2002" in body(seen, 2)["body"]

    third = event("evt-2003", "session.assigned", "2026-11-24T09:00:05Z", "call-2003", "Voice Inbound (IVR)",
                  REFUNDS, ADA, "2026-11-24T09:00:00Z")
    outcome, seen = handle(dispatcher, "3_reopen_closed_ticket.json", third)
    assert (outcome["action"], outcome["record"]["id"], outcome["record"]["crm_status"]) == ("reopened", "2001", "open")
    assert "closed 2026-11-22T09:00:00+00:00, within 3 days (rule 2)" in outcome["reason"]
    assert requests_of(seen) == ["GET /tickets/2001", "GET /tickets", "PUT /tickets/2001", "POST /tickets/2001/notes"]
    assert seen.calls[1][2]["requester_id"] == str(CONTACT)  # taken from the ticket: no contact look-up
    assert body(seen, 2) == {"status": 2}

    fourth = event("evt-2004", "session.assigned", "2026-11-29T12:00:05Z", "call-2004", "Voice Inbound (IVR)",
                   REFUNDS, ADA, "2026-11-29T12:00:00Z")
    outcome, seen = handle(dispatcher, "4_closed_too_long_ago_new_ticket.json", fourth)
    assert (outcome["action"], outcome["record"]["id"]) == ("created", "2004")
    assert outcome["reason"] == (
        "new record: no open record for this end user in leaf queue q-42; the call was assigned to an agent"
    )
    assert requests_of(seen) == ["GET /tickets/2001", "GET /tickets", "POST /tickets"]
    assert body(seen, 2)["requester_id"] == CONTACT

    chat = event("evt-2005", "session.abandoned", "2026-11-29T12:12:00Z", "chat-2005", "Messaging Inbound (Web Chat)",
                 SALES, ADA, "2026-11-29T12:10:00Z")
    outcome, seen = handle(dispatcher, "5_abandoned_chat_new_ticket.json", chat)
    assert (outcome["action"], outcome["record"]["id"]) == ("created", "2005")
    assert "abandoned chat: records for all abandoned chats (rule 6)" in outcome["reason"]
    assert requests_of(seen) == ["GET /contacts", "GET /tickets", "POST /tickets"]
    assert body(seen, 2)["source"] == 7 and "group_id" not in body(seen, 2)

    anonymous = event("evt-2006", "session.abandoned", "2026-11-29T12:20:00Z", "chat-2006",
                      "Messaging Inbound (Web Chat)", SALES, {}, "2026-11-29T12:18:00Z")
    outcome, seen = handle(dispatcher, "6_anonymous_chat_new_ticket.json", anonymous)
    assert (outcome["action"], outcome["record"]["id"]) == ("created", "2006")
    assert "anonymous sessions always get a new record" in outcome["reason"]
    assert requests_of(seen) == ["POST /tickets"]
    assert body(seen, 0)["email"] == "anonymous@example.com" and "requester_id" not in body(seen, 0)

    outcome, seen = handle(dispatcher, None, first)
    assert (outcome["action"], outcome["record"]["id"]) == ("duplicate", "2001")
    assert seen.calls == []
