"""The client's tricky parts: end-user matching, the upsert create, limits, notes, tags, other objects."""

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


def test_an_end_user_nobody_matches_has_no_records_and_gets_a_new_contact():
    sf = client(open_status="New")
    with replay(TOKEN, exchanges(
        soql(CONTACT_SOQL, []),
        call("POST", "sobjects/Contact", 201, {"id": "003Hu00000NewC1AAA", "success": True, "errors": []},
             sent={"FirstName": "Ada", "LastName": "L.", "Phone": "+14155550100", "Email": "ada@example.com"}),
        call("POST", "sobjects/Case", 201, CREATED),
    )) as seen:
        assert sf.find_open_record(samples.query(window_days=3)) is None  # no Case query without a person
        created = sf.create_record(samples.new_record())  # the miss is remembered: no second lookup
    assert created.id == "500Hu00000Crm01AAA" and created.crm_status == "New"
    assert sent_json(seen.calls, "POST", "/sobjects/Case")["ContactId"] == "003Hu00000NewC1AAA"


def test_without_the_person_cache_each_operation_looks_the_end_user_up():
    sf = client(open_status="New", person_cache_seconds=0, create_contacts=False)
    with replay(TOKEN, exchanges(soql(CONTACT_SOQL, []), soql(CONTACT_SOQL, []), call("POST", "sobjects/Case", 201, CREATED))) as seen:
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
        call("PATCH", "sobjects/Contact/Crmhub_End_User_Id__c/u-7", 201,
             {"id": "003Hu00000NewC1AAA", "success": True, "errors": [], "created": True},
             sent={"FirstName": "Ada", "LastName": "L.", "Phone": "+14155550100", "Email": "ada@example.com"}),
        call("POST", "sobjects/Case", 201, CREATED),
    )):
        created = sf.create_record(samples.new_record())
    assert created.id == "500Hu00000Crm01AAA"


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
    window = (
        f"SELECT {CASE_FIELDS} FROM Case WHERE AccountId = '001Hu00000Acct1AAA' AND Crmhub_Leaf_Queue__c = 'q-42' "
        "AND IsClosed = false ORDER BY CreatedDate DESC"
    )
    with replay(TOKEN, exchanges(
        soql(CONTACT_SOQL, []),
        soql(account, [{"Id": "001Hu00000Acct1AAA", "PersonMobilePhone": "+14155550100", "PersonEmail": None}]),
        soql(window, []),
    )):
        assert sf.find_open_record(samples.query()) is None


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
    with replay(TOKEN, exchanges(
        call("POST", "sobjects/Case", 201, CREATED),
        call("POST", "sobjects/CaseComment", 201, {"id": "00aHu00000Cmt01AAA", "success": True, "errors": []}),
        call("GET", "sobjects/Case/500Hu00000Crm01AAA", 200, {"Crmhub_Tags__c": "UJET"}, query={"fields": "Crmhub_Tags__c"}),
        call("PATCH", "sobjects/Case/500Hu00000Crm01AAA", 204, sent={"Crmhub_Tags__c": "UJET;Voice Inbound (IVR)"}),
        call("GET", "sobjects/Case/500Hu00000Crm02AAA", 200, {"Crmhub_Tags__c": None}, query={"fields": "Crmhub_Tags__c"}),
        call("PATCH", "sobjects/Case/500Hu00000Crm02AAA", 204,
             sent={"Status": "New", "Crmhub_Tags__c": "Voice Inbound (IVR);UJET"}),
        call("POST", "sobjects/CaseComment", 201, {"id": "00aHu00000Cmt02AAA", "success": True, "errors": []}),
    )) as seen:
        sf.create_record(replace(anonymous_record(), tags=("Voice Inbound (IVR)", "UJET")))
        sf.append_session(_record("open"), replace(samples.note(), tags=("Voice Inbound (IVR)", "UJET")))
        reopened = sf.reopen(_record("closed"), replace(samples.note(), tags=("Voice Inbound (IVR)", "UJET")))
    assert sent_json(seen.calls, "POST", "/sobjects/Case")["Crmhub_Tags__c"] == "Voice Inbound (IVR);UJET"
    assert reopened.status == "open" and reopened.closed_at is None and reopened.crm_status == "New"


def test_an_opportunity_is_kept_like_a_case_with_its_own_fields():
    sf = client(record_object="Opportunity", open_status="Prospecting", person_cache_seconds=0)
    window = (
        "SELECT Id, StageName, IsClosed, CloseDate, CreatedDate, Crmhub_Leaf_Queue__c, Crmhub_Session_Id__c "
        "FROM Opportunity WHERE ContactId = '003Hu00000AdaL7AAA' AND Crmhub_Leaf_Queue__c = 'q-42' AND "
        "(IsClosed = false OR CloseDate >= 2026-11-22) ORDER BY CreatedDate DESC"
    )
    contact = [{"Id": "003Hu00000AdaL7AAA", "Phone": "+14155550100", "MobilePhone": None, "Email": None}]
    closed = {"Id": "006Hu00000Opp01AAA", "StageName": "Closed Lost", "IsClosed": True, "CloseDate": "2026-11-24",
              "CreatedDate": "2026-11-20T08:00:00.000+0000", "Crmhub_Leaf_Queue__c": "q-42", "Crmhub_Session_Id__c": "call-1000"}
    with replay(TOKEN, exchanges(
        soql(CONTACT_SOQL, contact), soql(window, [closed]),
        soql(CONTACT_SOQL, contact), call("POST", "sobjects/Opportunity", 201, {"id": "006Hu00000Opp02AAA", "success": True, "errors": []}),
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
    with replay(TOKEN, exchanges({**soql(CONTACT_SOQL, []), "response": {"status": 403, "json": limit}})):
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
    with replay(TOKEN, exchanges({**soql(CONTACT_SOQL, []), "response": {"status": 200, "json": {"rows": []}}})):
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
