"""The tricky parts of the Kustomer operations: customer matching and its memory, the hint shortcut
(and the customer a done hinted conversation names), the paging cap, partial failures after a
create, conversation parsing and the settings schema. Tag ids: ``test_kustomer_tags.py``."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

import pytest
import responses
from marshmallow import ValidationError

from crmhub.core.errors import PermanentCrmError, TransientCrmError, UnknownOutcomeError
from crmhub.core.models import CrmRecord, EndUser
from crmhub import testing
from crmhub.testing import samples
from crmhub.testing.replay import replay
from crmhub_kustomer import conversations, plugin
from crmhub_kustomer.client import KustomerClient
from crmhub_kustomer.customers import find_customer, find_or_create_customer
from crmhub_kustomer.records import conversation_record
from crmhub_kustomer.settings import KustomerSettings, KustomerSettingsSchema

HOST = "https://acme.api.kustomerapp.com"
DOC = "https://developer.kustomer.com/api/core-resources#customers"
CUSTOMER = "66f1c2a3b4c5d6e7f8a9b0c1"
CONVERSATION = "6744a1b2c3d4e5f6a7b81001"
ATTRIBUTE = "crmhubLeafQueueStr"


def client(**overrides: Any) -> KustomerClient:
    settings = KustomerSettings(api_key="test-key", base_url=HOST, anonymous_customer_id="anon0", **overrides)
    return KustomerClient(settings)


def exchange(method: str, path: str, status: int = 200, json: Any = None, **parts: Any) -> dict[str, Any]:
    return testing.exchange(method, HOST + path, status=status, json=json, **parts)


def fixture(*exchanges: dict[str, Any]) -> dict[str, Any]:
    return testing.fixture(DOC, *exchanges)


def customer_body(customer_id: str = CUSTOMER) -> dict[str, Any]:
    return {"data": {"type": "customer", "id": customer_id, "attributes": {"name": "Ada L."}}}


def conversation(status: str = "open", queue: str | None = "q-42", conversation_id: str = CONVERSATION,
                 **attributes: Any) -> dict[str, Any]:
    attrs = {"status": status, "createdAt": "2026-11-23T10:00:00.000Z", **attributes}
    if queue:
        attrs["custom"] = {ATTRIBUTE: queue}
    return {"type": "conversation", "id": conversation_id, "attributes": attrs}


NOT_FOUND = {"errors": [{"status": 404, "code": "not_found", "title": "Not Found"}]}


# --- customers ---------------------------------------------------------------------------------------


def test_a_national_phone_number_is_looked_up_in_e164_with_the_default_region() -> None:
    caller = EndUser(phone="(415) 555-0100")
    with replay(fixture(exchange("GET", "/v1/customers/phone=+14155550100", json=customer_body()))):
        assert find_customer(client(default_phone_region="US"), caller) == CUSTOMER


def test_lookups_go_id_then_phone_then_email_and_a_found_customer_is_remembered() -> None:
    made = client()
    with replay(fixture(
        exchange("GET", "/v1/customers/externalId=u-7", 404, NOT_FOUND),
        exchange("GET", "/v1/customers/phone=+14155550100", 404, NOT_FOUND),
        exchange("GET", "/v1/customers/email=ada@example.com", json=customer_body()),
    )):
        assert find_customer(made, samples.END_USER) == CUSTOMER
    with responses.RequestsMock() as nothing_expected:
        assert find_customer(made, samples.END_USER) == CUSTOMER
    assert len(nothing_expected.calls) == 0  # remembered: no second lookup


def test_an_email_is_looked_up_trimmed_and_lower_case() -> None:
    with replay(fixture(exchange("GET", "/v1/customers/email=ada@example.com", json=customer_body()))):
        assert find_customer(client(), EndUser(email=" Ada@Example.COM ")) == CUSTOMER


def test_a_new_customer_gets_the_host_id_as_external_id() -> None:
    created = {"name": "Ada L.", "externalId": "u-7", "phones": [{"phone": "+14155550100"}],
               "emails": [{"email": "ada@example.com"}]}
    with replay(fixture(
        exchange("GET", "/v1/customers/externalId=u-7", 404, NOT_FOUND),
        exchange("GET", "/v1/customers/phone=+14155550100", 404, NOT_FOUND),
        exchange("GET", "/v1/customers/email=ada@example.com", 404, NOT_FOUND),
        exchange("POST", "/v1/customers", 201, customer_body(), body=created),
    )):
        assert find_or_create_customer(client(), samples.END_USER, "call-1001") == CUSTOMER


def test_a_miss_is_not_looked_up_again_by_the_same_session_but_by_another() -> None:
    made = client()
    misses = [exchange("GET", "/v1/customers/externalId=u-7", 404, NOT_FOUND)]
    with replay(fixture(*misses)):
        assert find_customer(made, EndUser(id="u-7"), "call-1") is None
    with replay(fixture(*misses)):
        assert find_customer(made, EndUser(id="u-7"), "call-2") is None
    created = exchange("POST", "/v1/customers", 201, customer_body(), body={"externalId": "u-7"})
    with replay(fixture(created)):  # call-2 just missed: straight to the create
        assert find_or_create_customer(made, EndUser(id="u-7"), "call-2") == CUSTOMER


def test_a_duplicate_refused_after_a_miss_is_found_by_looking_up_again() -> None:
    made = client()
    with replay(fixture(exchange("GET", "/v1/customers/externalId=u-7", 404, NOT_FOUND))):
        find_customer(made, EndUser(id="u-7"), "call-1")
    duplicate = {"errors": [{"status": 409, "code": "duplicate", "title": "externalId already exists"}]}
    with replay(fixture(
        exchange("POST", "/v1/customers", 409, duplicate, body={"externalId": "u-7"}),
        exchange("GET", "/v1/customers/externalId=u-7", json=customer_body("66f1c2a3b4c5d6e7f8a9ffff")),
    )):
        assert find_or_create_customer(made, EndUser(id="u-7"), "call-1") == "66f1c2a3b4c5d6e7f8a9ffff"


def test_a_remembered_customer_that_is_gone_is_forgotten_and_the_create_retried() -> None:
    made = client()
    made.customer_ids.remember("id:u-7", "merged0")
    record = samples.new_record(session=samples.session(end_user=EndUser(id="u-7")), tags=())
    body = {"externalId": "crmhub-call-1001", "name": "IVR Call call-1001", "status": "open",
            "custom": {ATTRIBUTE: "q-42"}}
    with replay(fixture(exchange("POST", "/v1/customers/merged0/conversations", 404, NOT_FOUND, body=body))):
        with pytest.raises(TransientCrmError, match="no longer exists"):
            conversations.create_record(made, record)
    assert made.customer_ids.get("id:u-7") is None


def test_an_anonymous_customer_that_does_not_exist_is_a_permanent_error() -> None:
    record = samples.new_record(session=samples.session(end_user=None), tags=())
    with replay(fixture(exchange("POST", "/v1/customers/anon0/conversations", 404, NOT_FOUND))):
        with pytest.raises(PermanentCrmError):
            conversations.create_record(client(), record)


# --- create: what follows the conversation -----------------------------------------------------------


def test_a_failing_note_after_the_create_keeps_the_created_conversation(caplog: pytest.LogCaptureFixture) -> None:
    record = samples.new_record(session=samples.session(end_user=None), tags=("UJET",))
    made = conversation(externalId="crmhub-call-1001", tags=["t-ujet"])
    running = client()
    running.tag_ids.store_listing({"UJET": "t-ujet"})
    with replay(fixture(
        exchange("POST", "/v1/customers/anon0/conversations", 201, {"data": made}),
        exchange("POST", f"/v1/conversations/{CONVERSATION}/notes", timeout=True),
    )):
        with caplog.at_level(logging.WARNING, logger="crmhub.kustomer"):
            created = conversations.create_record(running, record)
    assert (created.id, created.status) == (CONVERSATION, "open")
    assert f"conversation {CONVERSATION} was created for session call-1001" in caplog.text


def test_an_unreadable_create_answer_is_an_unknown_outcome() -> None:
    record = samples.new_record(session=samples.session(end_user=None), tags=())
    with replay(fixture(exchange("POST", "/v1/customers/anon0/conversations", 201, {"meta": {}}))):
        with pytest.raises(UnknownOutcomeError, match="probably created"):
            conversations.create_record(client(), record)


def test_no_tags_means_no_tags_request() -> None:
    note = samples.note(tags=())
    with replay(fixture(exchange("POST", f"/v1/conversations/{CONVERSATION}/notes", 201, {"data": {}},
                                 body={"body": note.text}))):
        record = CrmRecord(crm="kustomer", id=CONVERSATION, status="open", crm_status="open")
        assert conversations.append_session(client(), record, note) is record


def test_a_failing_note_on_append_is_raised_for_the_dispatcher_to_retry() -> None:
    note = samples.note(tags=())
    with replay(fixture(exchange("POST", f"/v1/conversations/{CONVERSATION}/notes", 503, {}))):
        record = CrmRecord(crm="kustomer", id=CONVERSATION, status="open", crm_status="open")
        with pytest.raises(TransientCrmError):
            conversations.append_session(client(), record, note)


# --- find_open_record --------------------------------------------------------------------------------


def test_an_open_hinted_conversation_answers_in_one_call() -> None:
    query = replace(samples.query(window_days=3), hint=CONVERSATION)
    with replay(fixture(exchange("GET", f"/v1/conversations/{CONVERSATION}", json={"data": conversation()}))) as seen:
        found = conversations.find_open_record(client(), query)
    assert found is not None and found.id == CONVERSATION and len(seen.calls) == 1


def test_a_hinted_conversation_of_another_queue_is_not_taken() -> None:
    query = replace(samples.query(), hint=CONVERSATION)
    listing = {"data": [], "links": {"next": None}}
    with replay(fixture(
        exchange("GET", f"/v1/conversations/{CONVERSATION}", json={"data": conversation(queue="q-7")}),
        exchange("GET", "/v1/customers/externalId=u-7", json=customer_body()),
        exchange("GET", f"/v1/customers/{CUSTOMER}/conversations", json=listing, query={"page": "1", "pageSize": "100"}),
    )):
        assert conversations.find_open_record(client(), query) is None


def test_a_done_hinted_conversation_names_its_customer_so_no_lookup_is_made() -> None:
    made = client()
    query = replace(samples.query(window_days=3), hint=CONVERSATION)
    done = conversation(status="done", lastDone={"createdAt": "2026-11-24T16:02:44.318Z"}, tags=["t-1"])
    done["relationships"] = {"customer": {"data": {"type": "customer", "id": CUSTOMER}}}
    listing = {"data": [done], "links": {"next": None}}
    with replay(fixture(
        exchange("GET", f"/v1/conversations/{CONVERSATION}", json={"data": done}),
        exchange("GET", f"/v1/customers/{CUSTOMER}/conversations", json=listing, query={"page": "1", "pageSize": "100"}),
    )):
        found = conversations.find_open_record(made, query)
    assert found is not None and (found.id, found.status) == (CONVERSATION, "closed")
    with responses.RequestsMock() as nothing_expected:  # a create that follows needs no lookup either
        assert find_customer(made, samples.END_USER) == CUSTOMER
    assert len(nothing_expected.calls) == 0


def test_a_hinted_conversation_that_names_no_customer_leaves_the_lookup_to_be_made() -> None:
    query = replace(samples.query(window_days=3), hint=CONVERSATION)
    done = conversation(status="done", lastDone={"createdAt": "2026-11-24T16:02:44.318Z"})
    with replay(fixture(
        exchange("GET", f"/v1/conversations/{CONVERSATION}", json={"data": done}),
        exchange("GET", "/v1/customers/externalId=u-7", json=customer_body()),
        exchange("GET", f"/v1/customers/{CUSTOMER}/conversations", json={"data": [done], "links": {}},
                 query={"page": "1", "pageSize": "100"}),
    )):
        found = conversations.find_open_record(client(), query)
    assert found is not None and found.id == CONVERSATION


def test_conversations_without_the_mark_are_not_read_at_all() -> None:
    made = client()
    made.customer_ids.remember("id:u-7", CUSTOMER)
    odd = conversation(status="escalated", queue=None, conversation_id="6744a1b2c3d4e5f6a7b80000")
    listing = {"data": [odd, conversation(status="snoozed")], "links": {"next": None}}
    with replay(fixture(exchange("GET", f"/v1/customers/{CUSTOMER}/conversations", json=listing,
                                 query={"page": "1", "pageSize": "100"}))):
        found = conversations.find_open_record(made, samples.query())
    assert found is not None and (found.id, found.crm_status) == (CONVERSATION, "snoozed")


def test_the_listing_stops_at_max_conversation_pages(caplog: pytest.LogCaptureFixture) -> None:
    made = client(max_conversation_pages=2)
    made.customer_ids.remember("id:u-7", CUSTOMER)
    path = f"/v1/customers/{CUSTOMER}/conversations"
    full = {"data": [conversation(status="done", queue="q-9")], "links": {"next": f"{path}?page=9"}}
    with replay(fixture(
        exchange("GET", path, json=full, query={"page": "1", "pageSize": "100"}),
        exchange("GET", path, json=full, query={"page": "2", "pageSize": "100"}),
    )):
        with caplog.at_level(logging.WARNING, logger="crmhub.kustomer"):
            assert conversations.find_open_record(made, samples.query()) is None
    assert "more than 2 pages" in caplog.text


# --- conversations as records ------------------------------------------------------------------------


def test_snoozed_is_open_and_done_is_closed_at_last_done() -> None:
    snoozed = conversation_record(conversation(status="snoozed"), ATTRIBUTE)
    assert (snoozed.status, snoozed.crm_status, snoozed.closed_at) == ("open", "snoozed", None)
    done = conversation_record(conversation(status="done", lastDone={"createdAt": "2026-11-24T16:02:44.318Z"}), ATTRIBUTE)
    assert (done.status, done.crm_status) == ("closed", "done")
    assert done.closed_at == datetime(2026, 11, 24, 16, 2, 44, 318000, tzinfo=timezone.utc)
    assert done.leaf_queue_id == "q-42"


def test_a_done_conversation_without_last_done_has_no_close_time() -> None:
    assert conversation_record(conversation(status="done"), ATTRIBUTE).closed_at is None


def test_an_unknown_status_or_time_is_refused() -> None:
    with pytest.raises(PermanentCrmError, match="status 'archived'"):
        conversation_record(conversation(status="archived"), ATTRIBUTE)
    with pytest.raises(PermanentCrmError, match="not a timestamp"):
        conversation_record(conversation(createdAt="yesterday"), ATTRIBUTE)


def test_a_conversation_without_the_mark_has_no_leaf_queue() -> None:
    assert conversation_record(conversation(queue=None), ATTRIBUTE).leaf_queue_id is None


# --- tags and settings -------------------------------------------------------------------------------


def test_tags_take_kustomer_form_one_for_one() -> None:
    assert plugin.format_tags(["Messaging Inbound (Web Chat)", "Voice Outbound", "UJET"]) == [
        "Messaging Inbound - Web Chat", "Voice Outbound", "UJET"
    ]


def test_settings_need_an_org_or_a_base_url_and_report_every_problem() -> None:
    with pytest.raises(ValidationError) as caught:
        KustomerSettingsSchema().load({"api_key": "", "leaf_queue_attribute": "queue", "queues": {"q-1": {}}})
    problems = caught.value.messages
    assert set(problems) == {"org_name", "api_key", "anonymous_customer_id", "leaf_queue_attribute", "queues"}


def test_base_url_replaces_the_org_host() -> None:
    loaded = KustomerSettingsSchema().load(
        {"base_url": "http://127.0.0.1:8080/", "api_key": "test-key", "anonymous_customer_id": "a"}
    )
    assert KustomerSettings.from_mapping(loaded).base_url == "http://127.0.0.1:8080"
    by_org = KustomerSettingsSchema().load({"org_name": "acme", "api_key": "test-key", "anonymous_customer_id": "a"})
    assert KustomerSettings.from_mapping(by_org).base_url == HOST
