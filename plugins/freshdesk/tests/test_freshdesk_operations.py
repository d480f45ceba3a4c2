"""The record operations on their tricky paths: auth, phone look-ups, contact conflicts, the
remembered ticket, list paging, custom-field marks, appends without tags, anonymous sessions."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from crmhub.core.errors import PermanentCrmError, TransientCrmError, UnknownOutcomeError
from crmhub.core.models import CrmRecord, EndUser, SessionNote
from crmhub.testing import replay, samples
from crmhub_freshdesk.connector import FreshdeskConnector
from crmhub_freshdesk.handoffs import MISSING, Handoffs
from crmhub_freshdesk.settings import FreshdeskSettings, FreshdeskSettingsSchema

API = "https://acme.freshdesk.com/api/v2"
DOC = "https://developers.freshdesk.com/api/"
CONTACT = {"id": 43001234567, "name": "Ada L.", "unique_external_id": "u-7"}
NEXT = {"Link": f'<{API}/tickets?page=2>; rel="next"'}


def connector(**section: Any) -> FreshdeskConnector:
    loaded = FreshdeskSettingsSchema().load({"domain": "acme", "api_key": "test-api-key", **section})
    return FreshdeskConnector(FreshdeskSettings.from_loaded(loaded))


def fixture(*exchanges: dict[str, Any]) -> dict[str, Any]:
    return {"doc": DOC, "exchanges": list(exchanges)}


def ex(method: str, path: str, status: int = 200, answer: Any = None, headers: dict[str, str] | None = None,
       **request: Any) -> dict[str, Any]:
    response: dict[str, Any] = {"status": status}
    if answer is not None:
        response["json"] = answer
    if headers:
        response["headers"] = headers
    return {"request": {"method": method, "url": API + path, **request}, "response": response}


def ticket(
    id: int, status: int = 2, queue: str = "q-42", created: str = "2026-11-20T10:00:00Z", **more: Any
) -> dict[str, Any]:
    return {"id": id, "status": status, "created_at": created, "requester_id": CONTACT["id"],
            "tags": ["UJET", f"crmhub-queue-{queue}", f"crmhub-session-call-{id}"], **more}


def list_query(page: int | None = None, updated_since: str = "2025-11-25T09:30:05Z") -> dict[str, str]:
    query = {"requester_id": str(CONTACT["id"]), "include": "stats", "updated_since": updated_since,
             "order_by": "created_at", "order_type": "desc", "per_page": "100"}
    if page:
        query["page"] = str(page)
    return query


def test_requests_authenticate_with_the_key_as_basic_user_and_x() -> None:
    expected = "Basic " + base64.b64encode(b"test-api-key:X").decode()
    with replay(fixture(ex("GET", "/contacts", answer=[CONTACT], query={"unique_external_id": "u-7"}))) as seen:
        connector().requesters.find(samples.END_USER)
    assert seen.calls[0][4]["Authorization"] == expected
    assert seen.calls[0][4]["Accept"] == "application/json"


def test_phones_are_looked_up_in_e164_with_the_default_region() -> None:
    local = EndUser(phone="(415) 555-0100")
    with replay(fixture(
        ex("GET", "/contacts", answer=[], query={"phone": "+14155550100"}),
        ex("GET", "/contacts", answer=[{"id": 9}, {"id": 5}], query={"mobile": "+14155550100"}),
    )):
        assert connector(default_phone_region="US").requesters.find(local) == 5  # the oldest of two


def test_without_unique_external_ids_the_host_id_is_neither_searched_nor_written() -> None:
    with replay(fixture(
        ex("GET", "/contacts", answer=[], query={"phone": "+14155550100"}),
        ex("GET", "/contacts", answer=[], query={"mobile": "+14155550100"}),
        ex("GET", "/contacts", answer=[], query={"email": "ada@example.com"}),
        ex("POST", "/contacts", 201, {"id": 11},
           json={"name": "Ada L.", "email": "ada@example.com", "phone": "+14155550100"}),
    )):
        assert connector(use_unique_external_id=False).requesters.find_or_create(samples.END_USER) == 11


def test_a_contact_made_meanwhile_is_adopted_from_freshdesks_409() -> None:
    conflict = {"description": "Validation failed", "errors": [{
        "field": "unique_external_id", "additional_info": {"user_id": 43001234567},
        "message": "It should be a unique value", "code": "duplicate_value"}]}
    phone_only = EndUser(phone="+14155550100")
    with replay(fixture(ex("POST", "/contacts", 409, conflict,
                           json={"name": "+14155550100", "phone": "+14155550100"}))):
        assert connector().requesters.create(phone_only) == 43001234567  # a name is required: the phone


def test_a_409_without_the_existing_contact_is_permanent() -> None:
    refused = {"description": "Validation failed",
               "errors": [{"field": "email", "message": "It should be a unique value"}]}
    with replay(fixture(ex("POST", "/contacts", 409, refused))):
        with pytest.raises(PermanentCrmError, match="email: It should be a unique value"):
            connector().requesters.create(samples.END_USER)


def test_the_remembered_ticket_still_open_answers_in_one_call() -> None:
    with replay(fixture(ex("GET", "/tickets/1001", answer=ticket(1001, 3), query={"include": "stats"}))) as seen:
        found = connector().find_open_record(samples.query(window_days=3, hint="1001"))
    assert found is not None and (found.id, found.status, found.crm_status) == ("1001", "open", "pending")
    assert len(seen.calls) == 1


def test_a_remembered_ticket_that_is_gone_falls_back_to_the_look_up() -> None:
    with replay(fixture(
        ex("GET", "/tickets/1001", 404, query={"include": "stats"}),
        ex("GET", "/contacts", answer=[CONTACT], query={"unique_external_id": "u-7"}),
        ex("GET", "/tickets", answer=[ticket(1003)], query=list_query()),
    )):
        found = connector().find_open_record(samples.query(window_days=3, hint="1001"))
    assert found is not None and found.id == "1003"


def test_paging_stops_at_the_first_open_candidate() -> None:
    with replay(fixture(
        ex("GET", "/contacts", answer=[CONTACT], query={"unique_external_id": "u-7"}),
        ex("GET", "/tickets", answer=[ticket(1009, queue="q-7"), ticket(1008)], headers=NEXT, query=list_query()),
    )):
        found = connector().find_open_record(samples.query())
    assert found is not None and found.id == "1008"


def test_paging_goes_on_while_no_candidate_is_open_and_an_older_open_one_wins_over_a_closed_one() -> None:
    closed = ticket(1009, 5, created="2026-11-24T10:00:00Z", stats={"closed_at": "2026-11-25T08:00:00Z"})
    with replay(fixture(
        ex("GET", "/contacts", answer=[CONTACT], query={"unique_external_id": "u-7"}),
        ex("GET", "/tickets", answer=[closed], headers=NEXT, query=list_query()),
        ex("GET", "/tickets", answer=[ticket(1002, created="2026-10-01T10:00:00Z")], query=list_query(page=2)),
    )):
        found = connector().find_open_record(samples.query(window_days=3))
    assert found is not None and (found.id, found.status) == ("1002", "open")


def test_paging_stops_at_max_pages() -> None:
    with replay(fixture(
        ex("GET", "/contacts", answer=[CONTACT], query={"unique_external_id": "u-7"}),
        ex("GET", "/tickets", answer=[ticket(1009, queue="q-7")], headers=NEXT, query=list_query()),
    )):
        assert connector(max_pages=1).find_open_record(samples.query()) is None


def test_custom_field_marks_replace_the_tags() -> None:
    client = connector(queue_field="cf_crmhub_queue", session_field="cf_crmhub_session")
    marked = {"id": 1001, "status": 2, "created_at": "2026-11-25T09:30:06Z", "tags": ["UJET"],
              "custom_fields": {"cf_crmhub_queue": "q-42", "cf_crmhub_session": "call-1001"}}
    with replay(fixture(
        ex("GET", "/contacts", answer=[CONTACT], query={"unique_external_id": "u-7"}),
        ex("POST", "/tickets", 201, marked),
    )) as seen:
        created = client.create_record(samples.new_record(tags=["UJET"]))
    sent = seen.calls[1][3]
    assert sent["tags"] == ["UJET"]
    assert sent["custom_fields"] == {"cf_crmhub_queue": "q-42", "cf_crmhub_session": "call-1001"}
    assert created.leaf_queue_id == "q-42"
    with replay(fixture(
        ex("GET", "/tickets", answer=[], query={"order_by": "created_at", "order_type": "desc", "per_page": "100"}),
        ex("GET", "/search/tickets", answer={"results": [marked], "total": 1},
           query={"query": "\"crmhub_session:'call-1001'\""}),
    )):
        found = client.find_record_for_session("call-1001")
    assert found is not None and (found.id, found.leaf_queue_id) == ("1001", "q-42")


def test_a_session_found_among_the_newest_tickets_needs_no_search() -> None:
    with replay(fixture(ex("GET", "/tickets", answer=[ticket(1001)],
                           query={"order_by": "created_at", "order_type": "desc", "per_page": "100"}))) as seen:
        found = connector().find_record_for_session("call-1001")
    assert found is not None and (found.id, found.leaf_queue_id) == ("1001", "q-42")
    assert len(seen.calls) == 1


def test_an_append_without_tags_is_just_the_note() -> None:
    record = CrmRecord(crm="freshdesk", id="1001", status="open", crm_status="open")
    with replay(fixture(ex("POST", "/tickets/1001/notes", 201, {"id": 5, "private": True}))) as seen:
        assert connector().append_session(record, samples.note(tags=())) == record
    assert seen.calls[0][3]["private"] is True


def test_notes_and_descriptions_are_escaped_html() -> None:
    record = CrmRecord(crm="freshdesk", id="1001", status="open", crm_status="open")
    sample = samples.note(tags=())
    note = SessionNote(session=sample.session, text="<b>Ada</b> & co\nline two", tags=(), at=sample.at,
                       idempotency_key=sample.idempotency_key)
    with replay(fixture(ex("POST", "/tickets/1001/notes", 201, {"id": 5},
                           json={"body": "&lt;b&gt;Ada&lt;/b&gt; &amp; co<br>line two", "private": True}))):
        connector().append_session(record, note)


def test_an_anonymous_session_needs_the_configured_requester() -> None:
    anonymous = samples.new_record(samples.session(end_user=None))
    with pytest.raises(PermanentCrmError, match="anonymous_requester_email"):
        connector().create_record(anonymous)


def test_a_validation_failure_on_create_is_permanent_with_freshdesks_words() -> None:
    refused = {"description": "Validation failed", "errors": [
        {"field": "group_id", "message": "There is no group matching the given group_id", "code": "invalid_value"}]}
    with replay(fixture(
        ex("GET", "/contacts", answer=[CONTACT], query={"unique_external_id": "u-7"}),
        ex("POST", "/tickets", 400, refused),
    )):
        with pytest.raises(PermanentCrmError, match="group_id: There is no group matching the given group_id"):
            connector(groups={"q-42": 99}).create_record(samples.new_record())


def test_a_timeout_on_a_read_is_transient_not_unknown() -> None:
    with replay({"doc": DOC, "exchanges": [{"request": {"method": "GET", "url": API + "/contacts"},
                                            "response": {"timeout": True}}]}):
        with pytest.raises(TransientCrmError) as caught:
            connector().find_open_record(samples.query())
    assert not isinstance(caught.value, UnknownOutcomeError)


def test_handoffs_are_read_once_and_bounded() -> None:
    handoffs = Handoffs(max_entries=2)
    handoffs.put("a", 1)
    handoffs.put("b", None)
    handoffs.put("c", 3)  # evicts the oldest, "a"
    assert handoffs.take("a") is MISSING
    assert handoffs.take("b") is None and handoffs.take("b") is MISSING
    assert handoffs.take("c") == 3
