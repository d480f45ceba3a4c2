"""Real Salesforce REST payloads published by the restforce project, read from the shared folder
(``../shared/third-party-fixtures/salesforce``) and served to the plugin's real HTTP calls.

The status codes are the ones Salesforce documents for each payload kind (REST API Developer
Guide: "Status Codes and Error Responses", "Insert or Update (Upsert) a Record Using an External ID").
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import crmhub_salesforce.plugin as plugin
from crmhub.core.errors import AuthenticationError, PermanentCrmError
from crmhub.core.models import CrmRecord
from crmhub.testing import replay, samples
from crmhub_salesforce.client import SalesforceClient
from crmhub_salesforce.settings import SalesforceSettingsSchema

LOGIN = "https://login.salesforce.com"
INSTANCE = "https://na1.salesforce.com"  # what auth_success_response.json names
DATA = f"{INSTANCE}/services/data/v60.0"
DOC = "https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm"
SETTINGS = {"client_id": "test-client-id", "client_secret": "test-client-secret", "open_status": "New"}


@pytest.fixture
def payload(third_party_fixtures: Path):
    folder = third_party_fixtures / "salesforce"

    def read(name: str) -> Any:
        text = (folder / name).read_text(encoding="utf-8")
        return json.loads(text) if text.strip() else None

    return read


def client(**settings: Any) -> SalesforceClient:
    return plugin.crm_client(SalesforceSettingsSchema().load({**SETTINGS, **settings}), Path("."))


def served(*exchanges: dict[str, Any]) -> dict[str, Any]:
    return {"doc": DOC, "exchanges": list(exchanges)}


def token(body: Any, status: int = 200) -> dict[str, Any]:
    return {"request": {"method": "POST", "url": f"{LOGIN}/services/oauth2/token"}, "response": {"status": status, "json": body}}


def rest(method: str, url: str, status: int, body: Any, **request: Any) -> dict[str, Any]:
    response = {"status": status, **({"json": body} if body is not None else {"body": ""})}
    return {"request": {"method": method, "url": url, **request}, "response": response}


def anonymous_record():
    return samples.new_record(session=samples.session("chat-9", channel="chat", end_user=None), tags=())


# --- OAuth ------------------------------------------------------------------------------------------


def test_a_token_success_gives_the_instance_url_and_the_bearer_token(payload):
    success = payload("auth_success_response.json")
    with replay(served(token(success), rest("GET", f"{DATA}/query", 200, payload("query_empty_response.json")))) as seen:
        assert client().find_record_for_session("call-1001") is None
    assert seen.calls[1][1].startswith(INSTANCE)
    assert seen.calls[1][4]["Authorization"] == "Bearer " + success["access_token"]


def test_a_token_error_is_an_authentication_error(payload):
    with replay(served(token(payload("auth_error_response.json"), status=400))):
        with pytest.raises(AuthenticationError, match="invalid_grant: authentication failure - Invalid Password"):
            client().find_record_for_session("call-1001")


def test_an_expired_session_is_refreshed_once_then_the_call_succeeds(payload):
    with replay(served(
        token(payload("auth_success_response.json")),
        rest("GET", f"{DATA}/query", 401, payload("expired_session_response.json")),
        token(payload("refresh_success_response.json")),
        rest("GET", f"{DATA}/query", 200, payload("query_empty_response.json")),
    )) as seen:
        assert client().find_record_for_session("call-1001") is None
    assert seen.calls[-1][4]["Authorization"] == "Bearer refreshed_access_token"


def test_a_refused_refresh_is_an_authentication_error(payload):
    with replay(served(
        token(payload("auth_success_response.json")),
        rest("GET", f"{DATA}/query", 401, payload("expired_session_response.json")),
        token(payload("refresh_error_response.json"), status=400),
    )):
        with pytest.raises(AuthenticationError, match="expired access/refresh token"):
            client().find_record_for_session("call-1001")


# --- SOQL ---------------------------------------------------------------------------------------------


def test_a_single_page_query_result_is_read(payload):
    sf = client()
    with replay(served(token(payload("auth_success_response.json")), rest("GET", f"{DATA}/query", 200, payload("query_success_response.json")))):
        rows = sf.api.query("SELECT Text_Label FROM Whizbang", action="read whizbangs")
    assert [row["Text_Label"] for row in rows] == ["Hi there!"]


def test_a_paginated_query_follows_next_records_url(payload):
    sf = client()
    with replay(served(
        token(payload("auth_success_response.json")),
        rest("GET", f"{DATA}/query", 200, payload("query_paginated_first_page_response.json"), query={"q": "SELECT Text_Label FROM Whizbang"}),
        rest("GET", f"{INSTANCE}/services/data/v26.0/query/01gD", 200, payload("query_paginated_last_page_response.json")),
    )):
        rows = sf.api.query("SELECT Text_Label FROM Whizbang", action="read whizbangs")
    assert [row["Text_Label"] for row in rows] == ["First Page", "Last Page"]


def test_an_empty_query_result_means_no_record(payload):
    with replay(served(token(payload("auth_success_response.json")), rest("GET", f"{DATA}/query", 200, payload("query_empty_response.json")))):
        assert client().find_record_for_session("call-1001") is None


def test_a_query_error_is_permanent_with_its_code(payload):
    with replay(served(token(payload("auth_success_response.json")), rest("GET", f"{DATA}/query", 400, payload("query_error_response.json")))):
        with pytest.raises(PermanentCrmError, match="INVALID_FIELD: error_message"):
            client().find_record_for_session("call-1001")


# --- create, upsert, write errors -----------------------------------------------------------------------


def test_a_create_result_gives_the_record_id(payload):
    with replay(served(token(payload("auth_success_response.json")), rest("POST", f"{DATA}/sobjects/Case", 201, payload("create_success_response.json")))):
        created = client().create_record(anonymous_record())
    assert created.id == "some_id" and created.url == f"{INSTANCE}/lightning/r/Case/some_id/view"


def test_an_upsert_that_created_gives_the_record_id(payload):
    with replay(served(
        token(payload("auth_success_response.json")),
        rest("PATCH", f"{DATA}/sobjects/Case/Crmhub_Session_Id__c/chat-9", 201, payload("upsert_created_success_response.json")),
    )):
        assert client(upsert_field="Crmhub_Session_Id__c").create_record(anonymous_record()).id == "foo"


def test_an_upsert_that_updated_without_a_body_reads_the_id_back(payload):
    assert payload("upsert_updated_success_response.json") is None  # older API versions: 204, no body
    with replay(served(
        token(payload("auth_success_response.json")),
        rest("PATCH", f"{DATA}/sobjects/Case/Crmhub_Session_Id__c/chat-9", 204, None),
        rest("GET", f"{DATA}/sobjects/Case/Crmhub_Session_Id__c/chat-9", 200, payload("sobject_find_success_response.json"),
             query={"fields": "Id"}),
    )):
        assert client(upsert_field="Crmhub_Session_Id__c").create_record(anonymous_record()).id == "23foo"


def test_an_upsert_matching_several_records_is_refused(payload):
    with replay(served(
        token(payload("auth_success_response.json")),
        rest("PATCH", f"{DATA}/sobjects/Case/Crmhub_Session_Id__c/chat-9", 300, payload("upsert_multiple_error_response.json")),
    )):
        with pytest.raises(PermanentCrmError, match="several records match"):
            client(upsert_field="Crmhub_Session_Id__c").create_record(anonymous_record())


def test_an_upsert_on_a_missing_external_id_field_is_refused(payload):
    with replay(served(
        token(payload("auth_success_response.json")),
        rest("PATCH", f"{DATA}/sobjects/Case/Crmhub_Session_Id__c/chat-9", 404, payload("upsert_error_response.json")),
    )):
        with pytest.raises(PermanentCrmError, match="NOT_FOUND: Provided external ID field does not exist"):
            client(upsert_field="Crmhub_Session_Id__c").create_record(anonymous_record())


def test_a_record_not_found_by_external_id_is_refused(payload):
    with replay(served(
        token(payload("auth_success_response.json")),
        rest("PATCH", f"{DATA}/sobjects/Case/Crmhub_Session_Id__c/chat-9", 204, None),
        rest("GET", f"{DATA}/sobjects/Case/Crmhub_Session_Id__c/chat-9", 404, payload("sobject_find_error_response.json")),
    )):
        with pytest.raises(PermanentCrmError, match="NOT_FOUND"):
            client(upsert_field="Crmhub_Session_Id__c").create_record(anonymous_record())


def test_a_write_error_is_permanent_with_salesforce_s_message(payload):
    """The reopen's status PATCH travels in a composite call: its subrequest answers the write error
    (``compositeResponse[].body``), the CaseComment reports the rollback."""
    case = CrmRecord(crm="salesforce", id="500x000000Crm02AAA", status="closed", crm_status="Closed", leaf_queue_id="q-42")
    halted = [{"errorCode": "PROCESSING_HALTED",
               "message": "The transaction was rolled back since another operation in the same transaction failed."}]
    answer = {"compositeResponse": [
        {"body": payload("write_error_response.json"), "httpHeaders": {}, "httpStatusCode": 400, "referenceId": "record"},
        {"body": halted, "httpHeaders": {}, "httpStatusCode": 400, "referenceId": "note"},
    ]}
    with replay(served(token(payload("auth_success_response.json")), rest("POST", f"{DATA}/composite", 200, answer))):
        with pytest.raises(PermanentCrmError, match="INVALID_FIELD: No such column 'foo' on sobject of type Bar"):
            client().reopen(case, samples.note())
