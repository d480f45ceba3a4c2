"""The client's tricky parts: end-user matching, the person and their records in one query, the
upsert create, writes sent together as one composite call, limits, notes, tags, other objects."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import crmhub_salesforce.plugin as plugin
from crmhub.core.errors import PermanentCrmError, TransientCrmError, UnknownOutcomeError
from crmhub.core.models import CrmRecord, EndUser
from crmhub.testing import replay, samples
from crmhub_salesforce.client import SalesforceClient
from crmhub_salesforce.people import PersonMatch
from crmhub_salesforce.settings import SalesforceSettingsSchema

TOKEN = Path(__file__).parent / "fixtures" / "unit" / "token.json"
DOC = "https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/"
DATA = "https://acme.my.salesforce.com/services/data/v60.0"
BASE = {"client_id": "test-client-id", "client_secret": "test-client-secret", "login_url": "https://acme.my.salesforce.com"}
PHONES = "('+14155550100', '(415) 555-0100', '+1 415-555-0100')"
CONTACT_SOQL = (
    "SELECT Id, Phone, MobilePhone, Email FROM Contact WHERE "
    f"Phone IN {PHONES} OR MobilePhone IN {PHONES} OR Email = 'ada@example.com' ORDER BY CreatedDate ASC LIMIT 50"
)
CASE_FIELDS = "Id, Status, IsClosed, ClosedDate, CreatedDate, Crmhub_Leaf_Queue__c, Crmhub_Session_Id__c"
CREATED = {"id": "500Hu00000Crm01AAA", "success": True, "errors": []}
OPEN_ONLY = "IsClosed = false"
WINDOW = "(IsClosed = false OR ClosedDate >= 2026-11-22T09:30:05Z)"
ADA_ROW = {"Id": "003Hu00000AdaL7AAA", "Phone": "+14155550100", "MobilePhone": None, "Email": "ada@example.com"}
HALTED = [{"errorCode": "PROCESSING_HALTED",
           "message": "The transaction was rolled back since another operation in the same transaction failed."}]


def client(**settings: Any) -> SalesforceClient:
    loaded = SalesforceSettingsSchema().load({**BASE, **settings})
    return plugin.crm_client(loaded, Path("."))


def exchanges(*items: dict[str, Any]) -> dict[str, Any]:
    return {"doc": DOC + "intro_rest.htm", "exchanges": list(items)}


def soql(query: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "request": {"method": "GET", "url": f"{DATA}/query", "query": {"q": query}},
        "response": {"status": 200, "json": {"totalSize": len(records), "done": True, "records": records}},
    }


def with_cases(person_query: str, condition: str, relationship: str = "Cases", fields: str = CASE_FIELDS) -> str:
    """``person_query`` asking for the person's records from leaf queue q-42 too (parent-child subquery)."""
    sub = f"(SELECT {fields} FROM {relationship} WHERE Crmhub_Leaf_Queue__c = 'q-42' AND {condition} ORDER BY CreatedDate DESC)"
    select, rest = person_query.split(" FROM ", 1)
    return f"{select}, {sub} FROM {rest}"


def nested(records: list[dict[str, Any]], next_url: str | None = None) -> dict[str, Any]:
    """A subquery's result inside its parent row."""
    page: dict[str, Any] = {"totalSize": len(records), "done": next_url is None, "records": records}
    return {**page, "nextRecordsUrl": next_url} if next_url else page


def composite(*results: tuple[str, int, Any], **response: Any) -> dict[str, Any]:
    """``POST /composite`` answered with ``(referenceId, httpStatusCode, body)`` per subrequest."""
    answer = {"compositeResponse": [
        {"body": body, "httpHeaders": {}, "httpStatusCode": status, "referenceId": ref} for ref, status, body in results
    ]}
    return {"request": {"method": "POST", "url": f"{DATA}/composite"}, "response": {"status": 200, "json": answer, **response}}


def subrequests(calls: list) -> list[tuple[str, str, str]]:
    """``(method, path under the data URL, referenceId)`` of the one composite call sent."""
    sent = sent_json(calls, "POST", "/composite")
    assert sent["allOrNone"] is True
    return [(sub["method"], sub["url"].split("/v60.0/", 1)[1], sub["referenceId"]) for sub in sent["compositeRequest"]]


def case_row(record_id: str, status: str, closed_at: str | None, created_at: str) -> dict[str, Any]:
    return {"Id": record_id, "Status": status, "IsClosed": closed_at is not None, "ClosedDate": closed_at,
            "CreatedDate": created_at, "Crmhub_Leaf_Queue__c": "q-42", "Crmhub_Session_Id__c": "call-0990"}


def call(method: str, path: str, status: int, body: Any = None, sent: Any = None, **request: Any) -> dict[str, Any]:
    response: dict[str, Any] = {"status": status}
    if body is None:
        response["body"] = ""
    else:
        response["json"] = body
    req = {"method": method, "url": f"{DATA}/{path}", **request}
    if sent is not None:
        req["json"] = sent
    return {"request": req, "response": response}


def anonymous_record(channel: str = "chat"):
    return samples.new_record(session=samples.session("chat-9", channel=channel, end_user=None), tags=())


def sent_json(calls: list, method: str, suffix: str) -> dict[str, Any]:
    bodies = [body for m, url, _, body, _ in calls if m == method and url.endswith(suffix)]
    assert len(bodies) == 1, bodies
    return bodies[0]


# --- the end user -----------------------------------------------------------------------------------


def test_an_end_user_nobody_matches_has_no_records_and_gets_a_new_contact_in_the_case_s_call():
    sf = client(open_status="New")
    with replay(TOKEN, exchanges(
        soql(with_cases(CONTACT_SOQL, WINDOW), []),
        composite(("person", 201, {"id": "003Hu00000NewC1AAA", "success": True, "errors": []}), ("record", 201, CREATED)),
    )) as seen:
        assert sf.find_open_record(samples.query(window_days=3)) is None  # one query: nobody, so no Cases
        created = sf.create_record(samples.new_record())  # the miss is remembered: no second lookup
    assert created.id == "500Hu00000Crm01AAA" and created.crm_status == "New"
    assert subrequests(seen.calls) == [("POST", "sobjects/Contact", "person"), ("POST", "sobjects/Case", "record")]
    person, case = sent_json(seen.calls, "POST", "/composite")["compositeRequest"]
    assert person["body"] == {"FirstName": "Ada", "LastName": "L.", "Phone": "+14155550100", "Email": "ada@example.com"}
    assert case["body"]["ContactId"] == "@{person.id}" and case["httpHeaders"] == {"Sforce-Auto-Assign": "FALSE"}
    assert sf.people.cached(samples.END_USER) == (True, PersonMatch("Contact", "003Hu00000NewC1AAA", "ContactId"))

def test_without_the_person_cache_each_operation_looks_the_end_user_up():
    sf = client(open_status="New", person_cache_seconds=0, create_contacts=False)
    with replay(TOKEN, exchanges(
        soql(with_cases(CONTACT_SOQL, OPEN_ONLY), []), soql(CONTACT_SOQL, []), call("POST", "sobjects/Case", 201, CREATED),
    )) as seen:
        assert sf.find_open_record(samples.query()) is None
        sf.create_record(samples.new_record())
    assert "ContactId" not in sent_json(seen.calls, "POST", "/sobjects/Case")  # no Contact is created either


def test_a_contact_is_created_by_upsert_on_the_host_id_when_an_external_id_field_is_set():
    sf = client(open_status="New", person_external_id_field="Crmhub_End_User_Id__c")
    lookup = CONTACT_SOQL.replace("SELECT Id, ", "SELECT Id, Crmhub_End_User_Id__c, ").replace(
        "WHERE ", "WHERE Crmhub_End_User_Id__c = 'u-7' OR "
    )
    with replay(TOKEN, exchanges(
        soql(lookup, []),
        composite(("person", 201, {"id": "003Hu00000NewC1AAA", "success": True, "errors": [], "created": True}),
                  ("record", 201, CREATED)),
    )) as seen:
        created = sf.create_record(samples.new_record())
    assert created.id == "500Hu00000Crm01AAA"
    assert subrequests(seen.calls) == [
        ("PATCH", "sobjects/Contact/Crmhub_End_User_Id__c/u-7", "person"), ("POST", "sobjects/Case", "record"),
    ]

def test_the_host_id_outranks_phone_and_email_matches():
    sf = client(person_external_id_field="Crmhub_End_User_Id__c")
    rows = [
        {"Id": "003Hu00000Email1AAA", "Crmhub_End_User_Id__c": None, "Phone": None, "MobilePhone": None, "Email": "ADA@example.com"},
        {"Id": "003Hu00000Phone1AAA", "Crmhub_End_User_Id__c": None, "Phone": "(415) 555-0100", "MobilePhone": None, "Email": None},
        {"Id": "003Hu00000HostI1AAA", "Crmhub_End_User_Id__c": "u-7", "Phone": None, "MobilePhone": None, "Email": None},
    ]
    lookup = CONTACT_SOQL.replace("SELECT Id, ", "SELECT Id, Crmhub_End_User_Id__c, ").replace(
        "WHERE ", "WHERE Crmhub_End_User_Id__c = 'u-7' OR "
    )
    with replay(TOKEN, exchanges(soql(lookup, rows))):
        match = sf.people.find(samples.END_USER)
    assert match is not None and match.id == "003Hu00000HostI1AAA" and match.record_field == "ContactId"
    with replay(TOKEN, exchanges(soql(CONTACT_SOQL, rows[:2]))):
        by_phone = client().people.find(samples.END_USER)
    assert by_phone is not None and by_phone.id == "003Hu00000Phone1AAA"  # phone before email


def test_a_national_number_from_the_host_is_matched_in_the_default_region():
    sf = client(default_phone_region="us", person_email_fields=[], person_phone_fields=["Phone"])
    end_user = EndUser(phone="(415) 555-0100")
    lookup = "SELECT Id, Phone FROM Contact WHERE Phone IN ('+14155550100', '(415) 555-0100', '+1 415-555-0100') ORDER BY CreatedDate ASC LIMIT 50"
    with replay(TOKEN, exchanges(soql(lookup, [{"Id": "003Hu00000Phone1AAA", "Phone": "415.555.0100"}]))):
        match = sf.people.find(end_user)
    assert match is not None and match.id == "003Hu00000Phone1AAA"


def test_the_secondary_lookup_object_links_its_match_through_its_own_field():
    sf = client(secondary_lookup={"object": "Account", "record_field": "AccountId",
                                  "phone_fields": ["PersonMobilePhone"], "email_fields": ["PersonEmail"]})
    account = (
        "SELECT Id, PersonMobilePhone, PersonEmail FROM Account WHERE "
        f"PersonMobilePhone IN {PHONES} OR PersonEmail = 'ada@example.com' ORDER BY CreatedDate ASC LIMIT 50"
    )
    row = {"Id": "001Hu00000Acct1AAA", "PersonMobilePhone": "+14155550100", "PersonEmail": None, "Cases": None}
    with replay(TOKEN, exchanges(soql(with_cases(CONTACT_SOQL, OPEN_ONLY), []), soql(with_cases(account, OPEN_ONLY), [row]))):
        assert sf.find_open_record(samples.query()) is None
    assert sf.people.cached(samples.END_USER) == (True, PersonMatch("Account", "001Hu00000Acct1AAA", "AccountId"))
    with replay(exchanges(soql(
        f"SELECT {CASE_FIELDS} FROM Case WHERE AccountId = '001Hu00000Acct1AAA' AND Crmhub_Leaf_Queue__c = 'q-42' "
        "AND IsClosed = false ORDER BY CreatedDate DESC", [],
    ))):
        assert sf.find_open_record(samples.query()) is None  # cached: the records alone, through AccountId


def test_a_custom_lookup_reads_the_records_through_its_own_relationship():
    sf = client(person_object="Patient__c", contact_field="Patient__c", person_records_relationship="Cases__r",
                person_phone_fields=["Phone__c"], person_email_fields=[])
    lookup = f"SELECT Id, Phone__c FROM Patient__c WHERE Phone__c IN {PHONES} ORDER BY CreatedDate ASC LIMIT 50"
    row = {"Id": "a01Hu00000Pat01AAA", "Phone__c": "+14155550100",
           "Cases__r": nested([case_row("500Hu00000Crm01AAA", "New", None, "2026-11-24T08:00:00.000+0000")])}
    with replay(TOKEN, exchanges(soql(with_cases(lookup, OPEN_ONLY, relationship="Cases__r"), [row]))):
        found = sf.find_open_record(samples.query())
    assert found is not None and found.id == "500Hu00000Crm01AAA" and found.status == "open"

def test_an_anonymous_session_gets_a_case_without_a_contact():
    sf = client(open_status="New")
    with replay(TOKEN, exchanges(call("POST", "sobjects/Case", 201, CREATED))) as seen:
        created = sf.create_record(anonymous_record())
    body = sent_json(seen.calls, "POST", "/sobjects/Case")
    assert "ContactId" not in body and body["Origin"] == "Chat" and body["Status"] == "New"
    assert created.status == "open"


def test_soql_literals_escape_what_the_host_sends():
    sf = client(person_phone_fields=[], person_email_fields=["Email"])
    lookup = "SELECT Id, Email FROM Contact WHERE Email = 'o\\'brien@example.com' ORDER BY CreatedDate ASC LIMIT 50"
    with replay(TOKEN, exchanges(soql(lookup, []))):
        assert sf.people.find(EndUser(email="o'brien@example.com")) is None


# --- the Case -----------------------------------------------------------------------------------------


def test_leaf_queue_owner_and_marks_are_written_with_assignment_rules_off():
    sf = client(open_status="New", queue_owners={"q-42": "00GHu000003Rfnd1AA"})
    with replay(TOKEN, exchanges(call("POST", "sobjects/Case", 201, CREATED))) as seen:
        sf.create_record(replace(anonymous_record("call"), title="x" * 300))
    body = sent_json(seen.calls, "POST", "/sobjects/Case")
    assert body["OwnerId"] == "00GHu000003Rfnd1AA" and body["Origin"] == "Phone"
    assert body["Crmhub_Leaf_Queue__c"] == "q-42" and body["Crmhub_Session_Id__c"] == "chat-9"
    assert len(body["Subject"]) == 255
    headers = {k.lower(): v for k, v in seen.calls[-1][4].items()}
    assert headers["sforce-auto-assign"] == "FALSE" and headers["authorization"] == "Bearer test-access-token"


@pytest.mark.parametrize(
    ("status", "answer", "created"),
    [(201, {"id": "500Hu00000Crm01AAA", "success": True, "errors": [], "created": True}, True),
     (200, {"id": "500Hu00000Crm01AAA", "success": True, "errors": [], "created": False}, False)],
)
def test_the_upsert_create_cannot_duplicate(status, answer, created):
    sf = client(open_status="New", upsert_field="Crmhub_Session_Id__c")
    with replay(TOKEN, exchanges(
        call("PATCH", "sobjects/Case/Crmhub_Session_Id__c/chat-9", status, answer, headers={"Sforce-Auto-Assign": "FALSE"}),
    )) as seen:
        record = sf.create_record(anonymous_record())
    assert record.id == "500Hu00000Crm01AAA"
    assert "Crmhub_Session_Id__c" not in sent_json(seen.calls, "PATCH", "/chat-9")  # the URL carries it


def test_an_upsert_matching_several_records_is_refused():
    sf = client(open_status="New", upsert_field="Crmhub_Session_Id__c")
    several = ["/services/data/v60.0/sobjects/Case/500Hu00000Crm01AAA", "/services/data/v60.0/sobjects/Case/500Hu00000Crm02AAA"]
    with replay(TOKEN, exchanges(call("PATCH", "sobjects/Case/Crmhub_Session_Id__c/chat-9", 300, several))):
        with pytest.raises(PermanentCrmError, match="several records"):
            sf.create_record(anonymous_record())


def test_a_separate_upsert_field_still_gets_the_session_id_mark():
    sf = client(open_status="New", upsert_field="Crmhub_Ext_Id__c")
    with replay(TOKEN, exchanges(call("PATCH", "sobjects/Case/Crmhub_Ext_Id__c/chat-9", 201, CREATED))) as seen:
        sf.create_record(anonymous_record())
    assert sent_json(seen.calls, "PATCH", "/chat-9")["Crmhub_Session_Id__c"] == "chat-9"


def test_the_default_open_status_is_read_once():
    sf = client()
    status_soql = "SELECT ApiName, MasterLabel FROM CaseStatus WHERE IsDefault = true AND IsClosed = false LIMIT 1"
    with replay(TOKEN, exchanges(
        soql(status_soql, [{"ApiName": "Open_New", "MasterLabel": "New"}]),
        call("POST", "sobjects/Case", 201, CREATED),
        call("POST", "sobjects/Case", 201, CREATED),
    )):
        first = sf.create_record(anonymous_record())
        second = sf.create_record(anonymous_record())
    assert first.crm_status == second.crm_status == "Open_New"


def test_an_org_without_a_default_open_status_asks_for_the_setting():
    with replay(TOKEN, exchanges(soql(
        "SELECT ApiName, MasterLabel FROM CaseStatus WHERE IsDefault = true AND IsClosed = false LIMIT 1", []
    ))):
        with pytest.raises(PermanentCrmError, match="open_status"):
            client().create_record(anonymous_record())


def test_a_long_note_is_truncated_to_the_comment_byte_limit():
    long_note = replace(samples.note(), text="é" * 3000)  # 6,000 bytes of UTF-8
    with replay(TOKEN, exchanges(call("POST", "sobjects/CaseComment", 201, {"id": "00aHu00000Cmt01AAA", "success": True, "errors": []}))) as seen:
        client().append_session(_record("open"), long_note)
    body = sent_json(seen.calls, "POST", "/sobjects/CaseComment")["CommentBody"]
    assert len(body.encode("utf-8")) <= 4000 and body.endswith("[truncated by crmhub]")


def test_tags_go_only_into_a_configured_tags_field_and_are_merged():
    sf = client(open_status="New", tags_field="Crmhub_Tags__c")
    comment = {"id": "00aHu00000Cmt01AAA", "success": True, "errors": []}
    with replay(TOKEN, exchanges(
        call("POST", "sobjects/Case", 201, CREATED),
        call("GET", "sobjects/Case/500Hu00000Crm01AAA", 200, {"Crmhub_Tags__c": "UJET"}, query={"fields": "Crmhub_Tags__c"}),
        composite(("note", 201, comment), ("record", 204, None)),
        call("GET", "sobjects/Case/500Hu00000Crm02AAA", 200, {"Crmhub_Tags__c": None}, query={"fields": "Crmhub_Tags__c"}),
        composite(("record", 204, None), ("note", 201, comment)),
    )) as seen:
        sf.create_record(replace(anonymous_record(), tags=("Voice Inbound (IVR)", "UJET")))
        sf.append_session(_record("open"), replace(samples.note(), tags=("Voice Inbound (IVR)", "UJET")))
        reopened = sf.reopen(_record("closed"), replace(samples.note(), tags=("Voice Inbound (IVR)", "UJET")))
    assert sent_json(seen.calls, "POST", "/sobjects/Case")["Crmhub_Tags__c"] == "Voice Inbound (IVR);UJET"
    appended, reopening = [body["compositeRequest"] for m, url, _, body, _ in seen.calls if url.endswith("/composite")]
    assert [(sub["method"], sub["referenceId"]) for sub in appended] == [("POST", "note"), ("PATCH", "record")]
    assert appended[1]["body"] == {"Crmhub_Tags__c": "UJET;Voice Inbound (IVR)"}
    assert reopening[0]["body"] == {"Status": "New", "Crmhub_Tags__c": "Voice Inbound (IVR);UJET"}
    assert reopened.status == "open" and reopened.closed_at is None and reopened.crm_status == "New"


def test_an_append_with_no_new_tag_is_one_comment():
    sf = client(tags_field="Crmhub_Tags__c")
    with replay(TOKEN, exchanges(
        call("GET", "sobjects/Case/500Hu00000Crm01AAA", 200, {"Crmhub_Tags__c": "UJET;Voice Inbound (IVR)"},
             query={"fields": "Crmhub_Tags__c"}),
        call("POST", "sobjects/CaseComment", 201, {"id": "00aHu00000Cmt01AAA", "success": True, "errors": []}),
    )):
        assert sf.append_session(_record("open"), replace(samples.note(), tags=("UJET",))).id == "500Hu00000Crm01AAA"

def test_an_opportunity_is_kept_like_a_case_with_its_own_fields():
    sf = client(record_object="Opportunity", open_status="Prospecting", person_cache_seconds=0)
    fields = "Id, StageName, IsClosed, CloseDate, CreatedDate, Crmhub_Leaf_Queue__c, Crmhub_Session_Id__c"
    window = with_cases(CONTACT_SOQL, "(IsClosed = false OR CloseDate >= 2026-11-22)", "Opportunities", fields)
    closed = {"Id": "006Hu00000Opp01AAA", "StageName": "Closed Lost", "IsClosed": True, "CloseDate": "2026-11-24",
              "CreatedDate": "2026-11-20T08:00:00.000+0000", "Crmhub_Leaf_Queue__c": "q-42", "Crmhub_Session_Id__c": "call-1000"}
    contact = {"Id": "003Hu00000AdaL7AAA", "Phone": "+14155550100", "MobilePhone": None, "Email": None}
    with replay(TOKEN, exchanges(
        soql(window, [{**contact, "Opportunities": nested([closed])}]),
        soql(CONTACT_SOQL, [contact]), call("POST", "sobjects/Opportunity", 201, {"id": "006Hu00000Opp02AAA", "success": True, "errors": []}),
        call("POST", "sobjects/Note", 201, {"id": "002Hu00000Note1AAA", "success": True, "errors": []}),
    )) as seen:
        found = sf.find_open_record(samples.query(window_days=3))
        created = sf.create_record(samples.new_record())
        sf.append_session(created, samples.note())
    assert found is not None and found.status == "closed" and found.crm_status == "Closed Lost"
    assert found.closed_at == datetime(2026, 11, 24, tzinfo=timezone.utc)
    body = sent_json(seen.calls, "POST", "/sobjects/Opportunity")
    assert body["Name"] == "IVR Call call-1001" and body["StageName"] == "Prospecting" and body["CloseDate"] == "2026-11-25"
    assert "Origin" not in body and body["ContactId"] == "003Hu00000AdaL7AAA"
    note = sent_json(seen.calls, "POST", "/sobjects/Note")
    assert note["ParentId"] == "006Hu00000Opp02AAA" and note["Title"] == "crmhub session call-1002" and note["IsPrivate"] is True
    assert created.url == "https://acme.my.salesforce.com/lightning/r/Opportunity/006Hu00000Opp02AAA/view"


def _record(status: str) -> CrmRecord:
    record_id = "500Hu00000Crm01AAA" if status == "open" else "500Hu00000Crm02AAA"
    return CrmRecord(
        crm="salesforce", id=record_id, status=status, crm_status="Working" if status == "open" else "Closed",  # type: ignore[arg-type]
        closed_at=samples.AT - timedelta(days=1) if status == "closed" else None, leaf_queue_id="q-42",
    )


# --- limits and failures ------------------------------------------------------------------------------


def test_the_org_request_limit_is_try_later_not_a_failure():
    limit = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    with replay(TOKEN, exchanges({**soql(with_cases(CONTACT_SOQL, OPEN_ONLY), []), "response": {"status": 403, "json": limit}})):
        with pytest.raises(TransientCrmError, match="request limit") as caught:
            client().find_open_record(samples.query())
    assert not isinstance(caught.value, PermanentCrmError)


def test_an_unavailable_org_is_try_later_even_for_a_create():
    unavailable = {"status": 503, "headers": {"Retry-After": "120"}, "body": "Server Unavailable"}
    with replay(TOKEN, exchanges({**call("POST", "sobjects/Case", 201, CREATED), "response": unavailable})):
        with pytest.raises(TransientCrmError) as caught:
            client(open_status="New").create_record(anonymous_record())
    assert not isinstance(caught.value, UnknownOutcomeError) and caught.value.retry_after == 120


def test_a_validation_error_is_permanent_with_salesforce_s_words():
    refused = [{"message": "Subject: data value too large", "errorCode": "STRING_TOO_LONG", "fields": ["Subject"]}]
    with replay(TOKEN, exchanges({**call("POST", "sobjects/Case", 201, CREATED), "response": {"status": 400, "json": refused}})):
        with pytest.raises(PermanentCrmError, match="STRING_TOO_LONG: Subject: data value too large"):
            client(open_status="New").create_record(anonymous_record())


def test_a_query_result_of_the_wrong_shape_is_refused_not_guessed():
    with replay(TOKEN, exchanges({**soql(with_cases(CONTACT_SOQL, OPEN_ONLY), []), "response": {"status": 200, "json": {"rows": []}}})):
        with pytest.raises(PermanentCrmError, match="not a SOQL query result"):
            client().find_open_record(samples.query())


def test_a_record_without_its_closed_flag_is_refused_not_guessed():
    rows = [{"Id": "500Hu00000Crm01AAA", "Status": "New", "CreatedDate": "2026-11-25T09:30:06.000+0000"}]
    query = f"SELECT {CASE_FIELDS} FROM Case WHERE Crmhub_Session_Id__c = 'call-1001' ORDER BY CreatedDate ASC LIMIT 1"
    with replay(TOKEN, exchanges(soql(query, rows))):
        with pytest.raises(PermanentCrmError, match="IsClosed"):
            client().find_record_for_session("call-1001")


def test_the_client_repr_shows_no_secret():
    shown = repr(client(client_secret="s3cr3t-value-for-repr"))
    assert "s3cr3t" not in shown and "Case" in shown


# --- the person and their records in one query ------------------------------------------------------------


def test_the_records_come_with_the_person_and_further_child_pages_are_read():
    sf = client()
    page_2 = "/services/data/v60.0/query/01gHu00000Page2AAA-2000"
    newest_closed = case_row("500Hu00000Crm03AAA", "Closed", "2026-11-24T10:00:00.000+0000", "2026-11-24T08:00:00.000+0000")
    older_open = case_row("500Hu00000Crm01AAA", "Working", None, "2026-11-23T08:00:00.000+0000")
    row = {**ADA_ROW, "Cases": nested([newest_closed], next_url=page_2)}
    with replay(TOKEN, exchanges(
        soql(with_cases(CONTACT_SOQL, WINDOW), [row]),
        {"request": {"method": "GET", "url": "https://acme.my.salesforce.com" + page_2},
         "response": {"status": 200, "json": {"totalSize": 2, "done": True, "records": [older_open]}}},
    )):
        found = sf.find_open_record(samples.query(window_days=3))
    assert found is not None and found.id == "500Hu00000Crm01AAA" and found.crm_status == "Working"  # open wins


def test_a_cached_person_costs_one_query_for_the_records_alone():
    sf = client()
    open_case = case_row("500Hu00000Crm01AAA", "Working", None, "2026-11-23T08:00:00.000+0000")
    records = (f"SELECT {CASE_FIELDS} FROM Case WHERE ContactId = '003Hu00000AdaL7AAA' AND Crmhub_Leaf_Queue__c = 'q-42' "
               "AND IsClosed = false ORDER BY CreatedDate DESC")
    with replay(TOKEN, exchanges(
        soql(with_cases(CONTACT_SOQL, OPEN_ONLY), [{**ADA_ROW, "Cases": None}]),
        soql(records, [open_case]),
    )):
        assert sf.find_open_record(samples.query()) is None  # the Contact, without Cases in q-42
        found = sf.find_open_record(samples.query())
    assert found is not None and found.id == "500Hu00000Crm01AAA"


@pytest.mark.parametrize(("cases", "found"), [(None, None), (nested([]), None)])
def test_a_subquery_that_found_nothing_may_be_null_or_empty(cases, found):
    with replay(TOKEN, exchanges(soql(with_cases(CONTACT_SOQL, OPEN_ONLY), [{**ADA_ROW, "Cases": cases}]))):
        assert client().find_open_record(samples.query()) is found


@pytest.mark.parametrize(("row", "words"), [
    (ADA_ROW, "lacks the Cases subquery"),
    ({**ADA_ROW, "Cases": {"records": "none"}}, "not a SOQL query result"),
])
def test_a_person_row_without_its_records_result_is_refused_not_read_as_no_records(row, words):
    with replay(TOKEN, exchanges(soql(with_cases(CONTACT_SOQL, OPEN_ONLY), [row]))):
        with pytest.raises(PermanentCrmError, match=words):
            client().find_open_record(samples.query())


# --- writes sent together: one composite call ---------------------------------------------------------------


def test_a_refused_subrequest_is_reported_in_its_own_words_not_as_the_rollback():
    refused = [{"message": "invalid cross reference id", "errorCode": "INVALID_CROSS_REFERENCE_KEY", "fields": ["ParentId"]}]
    with replay(TOKEN, exchanges(composite(("record", 400, HALTED), ("note", 400, refused)))):
        with pytest.raises(PermanentCrmError) as caught:
            client(open_status="New").reopen(_record("closed"), samples.note())
    assert str(caught.value) == (
        "Salesforce could not add a CaseComment to Case 500Hu00000Crm02AAA: "
        "HTTP 400 INVALID_CROSS_REFERENCE_KEY: invalid cross reference id"
    )


@pytest.mark.parametrize(("status", "body", "expected"), [
    (500, [{"message": "An unexpected error occurred.", "errorCode": "UNKNOWN_EXCEPTION"}], TransientCrmError),
    (400, [{"message": "Email: invalid email address", "errorCode": "INVALID_EMAIL_ADDRESS", "fields": ["Email"]}],
     PermanentCrmError),
])
def test_a_failed_subrequest_wrote_nothing_and_the_person_is_looked_up_again(status, body, expected):
    sf = client(open_status="New")
    with replay(TOKEN, exchanges(soql(CONTACT_SOQL, []), composite(("person", status, body), ("record", 400, HALTED)))):
        with pytest.raises(expected) as caught:
            sf.create_record(samples.new_record())
    assert type(caught.value) is expected  # all or none: a server error is "try later", never an unknown outcome
    assert "create the end user as a Contact" in str(caught.value)
    assert sf.people.cached(samples.END_USER) == (False, None)


def test_a_composite_call_without_an_answer_is_an_unknown_outcome_and_forgets_the_miss():
    sf = client(open_status="New")
    lost = {"request": {"method": "POST", "url": f"{DATA}/composite"}, "response": {"timeout": True}}
    with replay(TOKEN, exchanges(soql(CONTACT_SOQL, []), lost)):
        with pytest.raises(UnknownOutcomeError):
            sf.create_record(samples.new_record())
    assert sf.people.cached(samples.END_USER) == (False, None)  # the Contact may exist now


@pytest.mark.parametrize(("answer", "expected"), [
    ({"status": 200, "json": {"results": []}}, UnknownOutcomeError),
    ({"status": 200, "body": "<html>maintenance</html>"}, UnknownOutcomeError),
    ({"status": 403, "json": [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]},
     TransientCrmError),
])
def test_the_composite_call_itself_maps_like_any_write(answer, expected):
    with replay(TOKEN, exchanges({"request": {"method": "POST", "url": f"{DATA}/composite"}, "response": answer})):
        with pytest.raises(expected) as caught:
            client(open_status="New").reopen(_record("closed"), samples.note())
    assert type(caught.value) is expected


def test_an_upsert_subrequest_answered_without_a_body_reads_the_id_back():
    sf = client(open_status="New", upsert_field="Crmhub_Session_Id__c", api_version="v45.0")
    data = DATA.replace("v60.0", "v45.0")
    with replay(TOKEN, {"doc": DOC + "dome_upsert.htm", "exchanges": [
        {**soql(CONTACT_SOQL, []), "request": {"method": "GET", "url": f"{data}/query", "query": {"q": CONTACT_SOQL}}},
        {**composite(("person", 201, {"id": "003Hu00000NewC1AAA", "success": True, "errors": []}), ("record", 204, None)),
         "request": {"method": "POST", "url": f"{data}/composite"}},
        {"request": {"method": "GET", "url": f"{data}/sobjects/Case/Crmhub_Session_Id__c/call-1001", "query": {"fields": "Id"}},
         "response": {"status": 200, "json": {"Id": "500Hu00000Crm01AAA"}}},
    ]}):
        assert sf.create_record(samples.new_record()).id == "500Hu00000Crm01AAA"
