"""The tricky parts of the ticket and requester logic, each against exact Zendesk traffic."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from crmhub.core.errors import PermanentCrmError, TransientCrmError
from crmhub.core.models import CrmRecord, EndUser
from crmhub.testing import replay, samples
from crmhub_zendesk import plugin
from crmhub_zendesk.client import ZendeskClient
from crmhub_zendesk.limits import UpdateLimiter
from crmhub_zendesk.settings import ZendeskSettings

API = "https://acme.zendesk.com/api/v2"
LISTING = {"include": "metric_sets", "sort_by": "created_at", "sort_order": "desc", "per_page": "100"}
QTAG = "crmhub_queue_q_42"


def fixture(*exchanges: dict[str, Any]) -> dict[str, Any]:
    return {"doc": "https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/", "exchanges": list(exchanges)}


def get(path: str, body: Any, status: int = 200, **request: Any) -> dict[str, Any]:
    return {"request": {"method": "GET", "url": API + path, **request}, "response": {"status": status, "json": body}}


def write(method: str, path: str, body: Any, status: int = 200, **request: Any) -> dict[str, Any]:
    return {"request": {"method": method, "url": API + path, **request}, "response": {"status": status, "json": body}}


def ticket(tid: int, status: str, tags: list[str], updated: str = "2026-11-24T10:00:00Z", **extra: Any) -> dict[str, Any]:
    return {"id": tid, "status": status, "tags": tags, "created_at": "2026-11-20T10:00:00Z", "updated_at": updated,
            "subject": f"IVR Call call-{tid}", "requester_id": 9001, "custom_fields": [], **extra}


def users(*found: dict[str, Any]) -> dict[str, Any]:
    return {"users": list(found), "next_page": None, "count": len(found)}


ADA = {"id": 9001, "external_id": "u-7", "phone": "+14155550100", "email": "ada@example.com"}
BY_ID = get("/users/search.json", users(ADA), query={"external_id": "u-7"})


def make_client(**settings: Any) -> ZendeskClient:
    return ZendeskClient(ZendeskSettings(email="agent@example.com", api_token="test-token", subdomain="acme", **settings))


@pytest.fixture
def client() -> ZendeskClient:
    return make_client()


# --- requesters -----------------------------------------------------------------------------------


def test_phone_is_looked_up_in_e164_and_only_exact_matches_count() -> None:
    client = make_client(default_phone_region="US")
    caller = EndUser(phone="(415) 555-0100")
    near_miss = {"id": 1, "phone": "+1 415 555 0101", "email": None}
    same_number = {"id": 2, "phone": "415-555-0100", "email": None}
    with replay(fixture(get("/users/search.json", users(near_miss, same_number), query={"query": "phone:+14155550100"}),
                        get("/users/2/tickets/requested.json", {"tickets": [], "next_page": None}, query=LISTING))):
        assert plugin.find_open_record(client, replace(samples.query(), end_user=caller)) is None


def test_email_is_matched_case_insensitively_after_id_and_phone_miss(client: ZendeskClient) -> None:
    nobody = users()
    with replay(fixture(
        get("/users/search.json", nobody, query={"external_id": "u-7"}),
        get("/users/search.json", nobody, query={"query": "phone:+14155550100"}),
        get("/users/search.json", users({"id": 3, "email": "Ada@Example.com"}), query={"query": "email:ada@example.com"}),
        get("/users/3/tickets/requested.json", {"tickets": [], "next_page": None}, query=LISTING),
    )):
        assert plugin.find_open_record(client, samples.query()) is None


def test_a_found_requester_is_not_looked_up_again(client: ZendeskClient) -> None:
    listing = get("/users/9001/tickets/requested.json", {"tickets": [ticket(1001, "open", [QTAG])], "next_page": None}, query=LISTING)
    with replay(fixture(BY_ID, listing, listing)) as seen:
        plugin.find_open_record(client, samples.query())
        plugin.find_open_record(client, samples.query())
    assert [call[1] for call in seen.calls].count(API + "/users/search.json") == 1


def test_an_anonymous_session_gets_a_ticket_without_any_user_call(client: ZendeskClient) -> None:
    chat = samples.new_record(samples.session("chat-1", "chat", end_user=None))
    with replay(fixture(write("POST", "/tickets.json", {"ticket": ticket(7, "new", [QTAG])}, 201))) as seen:
        plugin.create_record(client, chat)
    assert len(seen.calls) == 1 and "requester_id" not in seen.calls[0][3]["ticket"]


# --- create ---------------------------------------------------------------------------------------


def test_settings_map_the_leaf_queue_to_a_group_and_marks_to_custom_fields() -> None:
    client = make_client(queue_groups={"q-42": 360000042}, session_id_field=111, leaf_queue_field=222)
    expected = {"ticket": {
        "subject": "IVR Call call-1001", "comment": {"body": samples.new_record().description, "public": False},
        "external_id": "call-1001", "tags": ["voice_inbound_ivr", "ujet", QTAG], "requester_id": 9001,
        "group_id": 360000042, "custom_fields": [{"id": 111, "value": "call-1001"}, {"id": 222, "value": "q-42"}],
    }}
    with replay(fixture(BY_ID, write("POST", "/tickets.json", {"ticket": ticket(4016, "new", [QTAG])}, 201, json=expected))):
        assert plugin.create_record(client, samples.new_record()).id == "4016"


def test_a_ticket_marked_by_the_queue_field_is_a_candidate_without_the_tag() -> None:
    client = make_client(leaf_queue_field=222)
    by_field = ticket(1005, "open", [], custom_fields=[{"id": 222, "value": "q-42"}])
    other_queue = ticket(1006, "open", [], custom_fields=[{"id": 222, "value": "q-43"}], created_at="2026-11-24T10:00:00Z")
    with replay(fixture(BY_ID, get("/users/9001/tickets/requested.json",
                                   {"tickets": [other_queue, by_field], "next_page": None}, query=LISTING))):
        assert plugin.find_open_record(client, samples.query()).id == "1005"


# --- finding the record ---------------------------------------------------------------------------


def test_paging_follows_next_page_until_an_open_candidate(client: ZendeskClient) -> None:
    page2 = f"{API}/users/9001/tickets/requested.json?page=2&per_page=100"
    with replay(fixture(
        BY_ID,
        get("/users/9001/tickets/requested.json", {"tickets": [ticket(1010, "open", ["vip"])], "next_page": page2}, query=LISTING),
        get("/users/9001/tickets/requested.json", {"tickets": [ticket(1001, "open", [QTAG])],
                                                   "next_page": f"{API}/users/9001/tickets/requested.json?page=3"},
            query={"page": "2", "per_page": "100"}),
    )):
        assert plugin.find_open_record(client, samples.query()).id == "1001"  # page 3 never asked for


def test_paging_stops_at_max_ticket_pages() -> None:
    client = make_client(max_ticket_pages=1)
    with replay(fixture(BY_ID, get("/users/9001/tickets/requested.json",
                                   {"tickets": [], "next_page": f"{API}/users/9001/tickets/requested.json?page=2"}, query=LISTING))):
        assert plugin.find_open_record(client, samples.query(window_days=3)) is None


def test_without_a_metric_the_solved_time_comes_from_the_audit_that_set_it(client: ZendeskClient) -> None:
    solved = ticket(1002, "solved", [QTAG], updated="2026-11-24T12:00:00Z")
    audits = {"audits": [
        {"id": 1, "created_at": "2026-11-20T10:00:00Z", "events": [{"type": "Create", "field_name": "status", "value": "new"}]},
        {"id": 2, "created_at": "2026-11-23T08:00:00Z", "events": [{"type": "Change", "field_name": "status", "value": "solved"}]},
        {"id": 3, "created_at": "2026-11-24T12:00:00Z", "events": [{"type": "Comment", "body": "thanks"}]},
    ], "next_page": None}
    with replay(fixture(BY_ID, get("/users/9001/tickets/requested.json", {"tickets": [solved], "metric_sets": [], "next_page": None},
                                   query=LISTING), get("/tickets/1002/audits.json", audits))):
        found = plugin.find_open_record(client, samples.query(window_days=3))
    assert found.id == "1002" and found.closed_at.isoformat() == "2026-11-23T08:00:00+00:00"


def test_no_audit_call_for_a_ticket_last_updated_before_the_window(client: ZendeskClient) -> None:
    old = ticket(1002, "solved", [QTAG], updated="2026-11-01T12:00:00Z")
    with replay(fixture(BY_ID, get("/users/9001/tickets/requested.json", {"tickets": [old], "next_page": None}, query=LISTING))):
        assert plugin.find_open_record(client, samples.query(window_days=3)) is None


def test_the_hint_answers_in_one_call_when_still_open(client: ZendeskClient) -> None:
    with replay(fixture(get("/tickets/1001.json", {"ticket": ticket(1001, "pending", [QTAG])}))):
        found = plugin.find_open_record(client, samples.query(hint="1001"))
    assert (found.id, found.status, found.crm_status) == ("1001", "open", "pending")


def test_a_solved_hint_lists_its_requesters_tickets_without_looking_the_end_user_up(client: ZendeskClient) -> None:
    solved = ticket(1001, "solved", [QTAG], updated="2026-11-24T15:00:00Z")
    metrics = {"metric_sets": [{"ticket_id": 1001, "solved_at": "2026-11-24T15:00:00Z"}]}
    with replay(fixture(get("/tickets/1001.json", {"ticket": solved}),
                        get("/users/9001/tickets/requested.json", {"tickets": [solved], "next_page": None, **metrics},
                            query=LISTING))):
        found = plugin.find_open_record(client, samples.query(hint="1001", window_days=3))
    assert (found.id, found.status, found.closed_at.isoformat()) == ("1001", "closed", "2026-11-24T15:00:00+00:00")


def test_a_deleted_hint_falls_back_to_the_listing(client: ZendeskClient) -> None:
    with replay(fixture(get("/tickets/1001.json", {"error": "RecordNotFound", "description": "Not found"}, 404), BY_ID,
                        get("/users/9001/tickets/requested.json", {"tickets": [], "next_page": None}, query=LISTING))):
        assert plugin.find_open_record(client, samples.query(hint="1001")) is None


def test_a_listing_that_is_not_the_documented_shape_is_a_permanent_error(client: ZendeskClient) -> None:
    with replay(fixture(BY_ID, get("/users/9001/tickets/requested.json", {"tickets": "none"}, query=LISTING))):
        with pytest.raises(PermanentCrmError, match="no list of tickets"):
            plugin.find_open_record(client, samples.query())


def test_an_unknown_status_is_a_permanent_error(client: ZendeskClient) -> None:
    with replay(fixture(BY_ID, get("/users/9001/tickets/requested.json",
                                   {"tickets": [ticket(1001, "escalated", [QTAG])], "next_page": None}, query=LISTING))):
        with pytest.raises(PermanentCrmError, match="unknown status 'escalated'"):
            plugin.find_open_record(client, samples.query())


def test_find_record_for_session_takes_the_oldest_and_none_when_absent(client: ZendeskClient) -> None:
    two = {"tickets": [ticket(4020, "new", [QTAG]), ticket(4016, "new", [QTAG])], "next_page": None}
    lookup = {"external_id": "call-1001", "include": "metric_sets"}
    with replay(fixture(get("/tickets.json", two, query=lookup), get("/tickets.json", {"tickets": []}, query=lookup))):
        assert plugin.find_record_for_session(client, "call-1001").id == "4016"
        assert plugin.find_record_for_session(client, "call-1001") is None


# --- appending: tags, safe updates, the per-ticket cap --------------------------------------------


def open_record(tid: str = "1001") -> CrmRecord:
    return CrmRecord("zendesk", tid, "open", "open", leaf_queue_id="q-42")


def put_ticket(tid: int, **request: Any) -> dict[str, Any]:
    return write("PUT", f"/tickets/{tid}.json", {"ticket": ticket(tid, "open", [QTAG], updated="2026-11-25T09:31:00Z")}, **request)


def test_tags_are_added_to_the_current_ones_never_replacing_them(client: ZendeskClient) -> None:
    client.tickets.put(ticket(1001, "open", ["vip", QTAG, "ujet"]))
    expected = {"ticket": {"comment": {"body": samples.note().text, "public": False},
                           "tags": ["vip", QTAG, "ujet", "voice_inbound_ivr"],
                           "safe_update": True, "updated_stamp": "2026-11-24T10:00:00Z"}}
    with replay(fixture(put_ticket(1001, json=expected))) as seen:
        plugin.append_session(client, open_record(), samples.note())
    assert len(seen.calls) == 1  # the ticket was known: no read before the update


def test_a_conflicting_update_is_transient_and_the_ticket_is_read_again_next_time(client: ZendeskClient) -> None:
    client.tickets.put(ticket(1001, "open", [QTAG]))
    conflict = write("PUT", "/tickets/1001.json", {"error": "UpdateConflict", "description": "ticket changed"}, 409)
    with replay(fixture(conflict, get("/tickets/1001.json", {"ticket": ticket(1001, "open", [QTAG, "vip"])}), put_ticket(1001))) as seen:
        with pytest.raises(TransientCrmError, match="changed meanwhile"):
            plugin.append_session(client, open_record(), samples.note())
        plugin.append_session(client, open_record(), samples.note())
    assert seen.calls[2][3]["ticket"]["tags"] == [QTAG, "vip", "voice_inbound_ivr", "ujet"]


def test_the_per_ticket_update_cap_is_respected_before_zendesk_refuses() -> None:
    client = make_client(max_updates_per_ticket=2)
    client.tickets.put(ticket(1001, "open", [QTAG, "voice_inbound_ivr", "ujet"]))
    with replay(fixture(put_ticket(1001), put_ticket(1001))) as seen:
        plugin.append_session(client, open_record(), samples.note("call-2"))
        plugin.append_session(client, open_record(), samples.note("call-3"))
        with pytest.raises(TransientCrmError, match="2 updates from crmhub") as caught:
            plugin.append_session(client, open_record(), samples.note("call-4"))
    assert len(seen.calls) == 2  # the third update was never sent
    assert 0 < caught.value.retry_after <= 600


def test_a_refused_update_does_not_count_against_the_cap() -> None:
    client = make_client(max_updates_per_ticket=1)
    client.tickets.put(ticket(1001, "open", [QTAG, "voice_inbound_ivr", "ujet"]))
    limited = write("PUT", "/tickets/1001.json", {"error": "TooManyRequests"}, 429)
    limited["response"]["headers"] = {"Retry-After": "7"}
    with replay(fixture(limited, get("/tickets/1001.json", {"ticket": ticket(1001, "open", [QTAG, "voice_inbound_ivr", "ujet"])}),
                        put_ticket(1001))):
        with pytest.raises(TransientCrmError) as caught:
            plugin.append_session(client, open_record(), samples.note())
        assert caught.value.retry_after == 7.0
        plugin.append_session(client, open_record(), samples.note())


def test_the_sliding_window_frees_updates_as_they_age() -> None:
    now = [1000.0]
    limiter = UpdateLimiter(max_updates=30, window_seconds=600, clock=lambda: now[0])
    for second in range(30):
        now[0] = 1000.0 + second
        limiter.reserve("1001")
    limiter.reserve("1002")  # other tickets have their own count
    with pytest.raises(TransientCrmError) as caught:
        limiter.reserve("1001")
    assert caught.value.retry_after == 571.0  # the first update (t=1000) leaves the window at t=1600
    now[0] = 1600.0
    limiter.reserve("1001")


def test_reopening_a_closed_ticket_makes_a_follow_up(client: ZendeskClient) -> None:
    closed = ticket(1002, "closed", ["ujet", QTAG], group_id=360000042)
    expected = {"ticket": {
        "subject": "IVR Call call-1002", "comment": {"body": samples.note().text, "public": False},
        "external_id": "call-1002", "tags": ["ujet", QTAG, "voice_inbound_ivr"], "requester_id": 9001,
        "group_id": 360000042, "via_followup_source_id": 1002,
    }}
    created = write("POST", "/tickets.json", {"ticket": ticket(1100, "new", [QTAG])}, 201, json=expected,
                    headers={"Idempotency-Key": "crmhub-call-1002"})
    with replay(fixture(get("/tickets/1002.json", {"ticket": closed}), created)):
        record = plugin.reopen(client, CrmRecord("zendesk", "1002", "closed", "closed", leaf_queue_id="q-42"), samples.note())
    assert (record.id, record.follow_up_of, record.status) == ("1100", "1002", "open")
