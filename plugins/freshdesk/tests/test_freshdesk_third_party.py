"""Real Freshdesk API v2 payloads (published by python-freshdesk) read by the plugin.

One test per payload kind the plugin consumes: a ticket (create/view answer), an updated ticket
(update answer), a private note (add-note answer), the contact list and a contact (lookup and
create answers), the ticket list and the filter-API results. ``all_tickets.json`` and
``search_tickets.json`` carry v1-era field names beside the v2 ones; the plugin must ignore them.
Replies and conversation lists are not read by the plugin (it only writes private notes), so
``reply_1.json`` and ``conversations.json`` have no test here.

The payloads are served through :func:`crmhub.testing.replay`, as Freshdesk would answer.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from crmhub.core.models import CrmRecord
from crmhub.testing import replay, samples
from crmhub_freshdesk.connector import FreshdeskConnector
from crmhub_freshdesk.records import ticket_record
from crmhub_freshdesk.settings import FreshdeskSettings, FreshdeskSettingsSchema

API = "https://acme.freshdesk.com/api/v2"
DOCS = "https://developers.freshdesk.com/api/"


@pytest.fixture
def payloads(third_party_fixtures: Path) -> Path:
    return third_party_fixtures / "freshdesk"


def payload(folder: Path, name: str) -> Any:
    return json.loads((folder / name).read_text(encoding="utf-8"))


def connector() -> FreshdeskConnector:
    loaded = FreshdeskSettingsSchema().load({"domain": "acme", "api_key": "test-api-key"})
    return FreshdeskConnector(FreshdeskSettings.from_loaded(loaded))


def served(doc: str, *exchanges: tuple[str, str, dict[str, Any], int, Any]) -> dict[str, Any]:
    """A fixture dict: ``(method, path, request extras, status, response json)`` per exchange."""
    return {
        "doc": doc,
        "exchanges": [
            {"request": {"method": method, "url": API + path, **extra}, "response": {"status": status, "json": body}}
            for method, path, extra, status, body in exchanges
        ],
    }


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(timezone.utc)


def test_a_created_ticket_becomes_an_open_record(payloads: Path) -> None:
    """ticket_1.json as the answer to POST /tickets; contacts.json as the contact lookup."""
    client = connector()
    fixture = served(
        DOCS + "#create_ticket",
        ("GET", "/contacts", {"query": {"unique_external_id": "u-7"}}, 200, payload(payloads, "contacts.json")),
        ("POST", "/tickets", {}, 201, payload(payloads, "ticket_1.json")),
    )
    with replay(fixture) as seen:
        record = client.create_record(samples.new_record())
    assert record == CrmRecord(
        crm="freshdesk", id="1", status="open", crm_status="open", url="https://acme.freshdesk.com/a/tickets/1",
        closed_at=None, created_at=utc("2016-05-18T04:36:04+00:00"), leaf_queue_id="q-42",
    )
    assert seen.calls[1][3]["requester_id"] == 1  # the contact found in contacts.json


def test_the_stats_of_a_ticket_give_the_close_time(payloads: Path) -> None:
    """ticket_1.json read with include=stats: resolved_at stands in for the missing closed_at."""
    ticket = payload(payloads, "ticket_1.json")
    closed = dict(ticket, status=4)
    record = ticket_record(closed, "https://acme.freshdesk.com")
    assert (record.status, record.crm_status) == ("closed", "resolved")
    assert record.closed_at == utc("2020-07-24T15:35:21+00:00")


def test_an_updated_ticket_and_a_note_answer_an_append(payloads: Path) -> None:
    """ticket_1.json read for its tags, ticket_1_updated.json answering the tag update (a PUT
    replaces tags, so the current ones are sent with the new ones), note_1.json answering the note."""
    client = connector()
    current = payload(payloads, "ticket_1.json")["tags"]
    new_tags = ["Voice Inbound (IVR)", "UJET"]
    fixture = served(
        DOCS + "#update_ticket",
        ("GET", "/tickets/1", {}, 200, payload(payloads, "ticket_1.json")),
        ("PUT", "/tickets/1", {"json": {"tags": current + new_tags}}, 200, payload(payloads, "ticket_1_updated.json")),
        ("POST", "/tickets/1/notes", {}, 201, payload(payloads, "note_1.json")),
    )
    before = CrmRecord(crm="freshdesk", id="1", status="open", crm_status="open", leaf_queue_id="q-42")
    with replay(fixture) as seen:
        after = client.append_session(before, samples.note(tags=new_tags))
    assert seen.calls[2][3]["private"] is True
    assert (after.id, after.status, after.crm_status) == ("1", "closed", "resolved")  # as the update answered
    assert after.leaf_queue_id == "q-42"


def test_a_contact_list_and_a_created_contact_name_the_requester(payloads: Path) -> None:
    """contacts.json answers a lookup; contact.json answers POST /contacts."""
    client = connector()
    ada = samples.END_USER
    fixture = served(
        DOCS + "#list_all_contacts",
        ("GET", "/contacts", {"query": {"email": "ada@example.com"}}, 200, payload(payloads, "contacts.json")),
        ("POST", "/contacts", {}, 201, payload(payloads, "contact.json")),
    )
    with replay(fixture):
        assert client.requesters.find(type(ada)(email=ada.email)) == 1
        assert client.requesters.create(ada) == 1


def test_the_v1_era_ticket_list_parses_and_holds_no_crmhub_ticket(payloads: Path) -> None:
    """all_tickets.json as the requester's ticket list: readable, but no ticket carries the
    leaf-queue tag, so there is no candidate."""
    client = connector()
    listing = payload(payloads, "all_tickets.json")
    records = [ticket_record(ticket, "https://acme.freshdesk.com") for ticket in listing]
    assert [(r.id, r.status, r.created_at) for r in records] == [("1", "open", utc("2014-12-31T12:27:09+10:00"))]
    fixture = served(
        DOCS + "#list_all_tickets",
        ("GET", "/contacts", {"query": {"unique_external_id": "u-7"}}, 200, payload(payloads, "contacts.json")),
        ("GET", "/tickets", {"query": {
            "requester_id": "1", "include": "stats", "updated_since": "2025-11-25T09:30:05Z",
            "order_by": "created_at", "order_type": "desc", "per_page": "100",
        }}, 200, listing),
    )
    with replay(fixture):
        assert client.find_open_record(samples.query(window_days=3)) is None


def test_filter_api_results_parse_and_do_not_match_another_session(payloads: Path) -> None:
    """search_tickets.json as the filter API's answer during reconciliation (after the newest
    tickets, all_tickets.json, did not hold the session's tag)."""
    client = connector()
    results = payload(payloads, "search_tickets.json")
    assert [ticket_record(t, "https://acme.freshdesk.com").id for t in results["results"]] == ["1", "1"]
    fixture = served(
        DOCS + "#filter_tickets",
        ("GET", "/tickets", {"query": {"order_by": "created_at", "order_type": "desc", "per_page": "100"}}, 200,
         payload(payloads, "all_tickets.json")),
        ("GET", "/search/tickets", {"query": {"query": "\"tag:'crmhub-session-call-1001'\""}}, 200, results),
    )
    with replay(fixture):
        assert client.find_record_for_session("call-1001") is None
