"""The plugin against real Zendesk payloads: the VCR cassettes recorded by zendesk_api_client_rb
against a Zendesk account (kept outside the project, found by ``third_party_fixtures``).

A test per payload kind the plugin consumes: ticket create, ticket show, ticket update, the
requester's tickets (``users/{id}/tickets/requested``), user create, and Zendesk's 404 body.
Where possible the payload is served through ``replay`` to the plugin's own calls.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from crmhub.core.errors import PermanentCrmError
from crmhub.core.models import CrmRecord, EndUser
from crmhub.testing import replay, samples
from crmhub_zendesk import plugin
from crmhub_zendesk.client import ZendeskClient
from crmhub_zendesk.records import many, marks_queue, one, to_record
from crmhub_zendesk.settings import ZendeskSettings

STAGING = "https://zendeskapi.zendesk-staging.com"
DOC = "https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/"


def interactions(folder: Path, name: str) -> list[dict[str, Any]]:
    """The cassette's exchanges as ``{method, path, status, body}`` (bodies may be base64)."""
    cassette = json.loads((folder / "zendesk" / name).read_text(encoding="utf-8"))
    found = []
    for item in cassette["http_interactions"]:
        body = item["response"]["body"]
        text = body.get("string") or (base64.b64decode(body["base64_string"]).decode() if body.get("base64_string") else "")
        uri = item["request"]["uri"].split("@", 1)[-1]  # the cassettes write placeholder credentials into the URI
        found.append({
            "method": item["request"]["method"].upper(), "path": uri.split("/", 1)[1].split("?")[0],
            "status": item["response"]["status"]["code"], "body": json.loads(text) if text.strip() else None,
        })
    return found


def served(method: str, path: str, status: int, body: Any, **request: Any) -> dict[str, Any]:
    return {"doc": DOC, "exchanges": [{"request": {"method": method, "url": f"{STAGING}/{path}", **request},
                                       "response": {"status": status, "json": body}}]}


@pytest.fixture
def client() -> ZendeskClient:
    return ZendeskClient(ZendeskSettings(email="agent@example.com", api_token="test-token", base_url=STAGING))


def test_ticket_create_payload_becomes_an_open_record(third_party_fixtures: Path, client: ZendeskClient) -> None:
    created = interactions(third_party_fixtures, "ZendeskAPI_Ticket_create.json")[0]
    assert (created["method"], created["status"]) == ("POST", 201)
    anonymous = samples.new_record(samples.session(end_user=None))
    with replay(served("POST", "api/v2/tickets.json", 201, created["body"], headers={"Idempotency-Key": "crmhub-call-1001"})):
        record = plugin.create_record(client, anonymous)
    assert record == CrmRecord(
        crm="zendesk", id="543", status="open", crm_status="new", url=f"{STAGING}/agent/tickets/543",
        created_at=datetime(2012, 10, 26, 22, 11, 6, tzinfo=timezone.utc), leaf_queue_id="q-42",
    )


def test_ticket_show_payload_is_read_and_is_not_a_crmhub_candidate(third_party_fixtures: Path, client: ZendeskClient) -> None:
    shown = interactions(third_party_fixtures, "ZendeskAPI_Ticket_creation.json")[0]
    ticket = one(shown["body"], "ticket", "ticket show")
    record = to_record(ticket, client.agent_url(ticket["id"]))
    assert (record.id, record.status, record.crm_status) == ("543", "open", "new")
    assert not marks_queue(ticket, "q-42", None)  # made by hand (by another client): never appended to


def test_ticket_update_payload_is_the_record_after_an_append(third_party_fixtures: Path, client: ZendeskClient) -> None:
    update, show = interactions(third_party_fixtures, "ZendeskAPI_Ticket_update.json")
    assert (update["method"], show["method"]) == ("PUT", "GET")
    with replay(served("GET", "api/v2/tickets/544.json", 200, show["body"]),
                served("PUT", "api/v2/tickets/544.json", 200, update["body"])) as seen:
        record = plugin.append_session(client, CrmRecord("zendesk", "544", "open", "new"), samples.note())
    assert (record.id, record.status, record.crm_status) == ("544", "open", "new")
    sent = seen.calls[1][3]["ticket"]
    assert sent["tags"] == ["voice_inbound_ivr", "ujet"]  # the real ticket had no tags: the new ones are all of them
    assert sent["updated_stamp"] == show["body"]["ticket"]["updated_at"] and sent["safe_update"] is True


def test_requested_tickets_payload_is_paged_and_hand_made_tickets_are_no_candidates(
    third_party_fixtures: Path, client: ZendeskClient
) -> None:
    listing = interactions(third_party_fixtures, "ZendeskAPI_Ticket_read_ZendeskAPI_User_requested_tickets.json")[0]
    tickets = many(listing["body"], "tickets", "requested tickets")
    records = [to_record(t, client.agent_url(t["id"])) for t in tickets]
    assert {r.crm_status for r in records} <= {"new", "open", "pending", "hold", "solved", "closed"}
    assert all((r.status == "closed") == (r.crm_status in ("solved", "closed")) for r in records)
    next_page = listing["body"]["next_page"]
    user = {"users": [{"id": 20014192, "external_id": "u-7", "name": "Ada L."}]}
    with replay(
        served("GET", "api/v2/users/search.json", 200, user, query={"external_id": "u-7"}),
        served("GET", "api/v2/users/20014192/tickets/requested.json", 200, listing["body"],
               query={"include": "metric_sets", "sort_by": "created_at", "sort_order": "desc", "per_page": "100"}),
        served("GET", next_page.split("?")[0].removeprefix(STAGING + "/"), 200, {"tickets": [], "next_page": None},
               query={"page": "2"}),
    ):
        assert plugin.find_open_record(client, samples.query(window_days=3)) is None


def test_user_payload_is_the_requester_of_a_new_ticket(third_party_fixtures: Path, client: ZendeskClient) -> None:
    user = interactions(third_party_fixtures, "ZendeskAPI_User_creation.json")[0]
    assert one(user["body"], "user", "user")["role"] == "end-user"
    created = interactions(third_party_fixtures, "ZendeskAPI_Ticket_create.json")[0]
    newcomer = samples.new_record(samples.session(end_user=EndUser(id="u-9", name="Test U.")))
    empty = {"users": [], "next_page": None, "count": 0}
    with replay(
        served("GET", "api/v2/users/search.json", 200, empty, query={"external_id": "u-9"}),
        served("POST", "api/v2/users/create_or_update.json", 201, user["body"],
               json={"user": {"name": "Test U.", "role": "end-user", "external_id": "u-9"}}),
        served("POST", "api/v2/tickets.json", 201, created["body"]),
    ) as seen:
        plugin.create_record(client, newcomer)
    assert seen.calls[2][3]["ticket"]["requester_id"] == user["body"]["user"]["id"]


def test_not_found_payload_is_a_permanent_error_with_zendesk_wording(third_party_fixtures: Path, client: ZendeskClient) -> None:
    missing = interactions(third_party_fixtures, "ZendeskAPI_Ticket_deletion.json")[1]
    assert missing["status"] == 404
    with replay(served("GET", "api/v2/tickets/545.json", 404, missing["body"])):
        with pytest.raises(PermanentCrmError, match="HTTP 404: RecordNotFound; Not found"):
            plugin.append_session(client, CrmRecord("zendesk", "545", "open", "open"), samples.note())
