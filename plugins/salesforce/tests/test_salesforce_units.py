"""Small pure parts: error mapping, Retry-After, SOQL literals, text limits, phone forms, settings."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import requests
import urllib3.exceptions
from marshmallow import ValidationError

from crmhub.core.errors import (
    AuthenticationError,
    PermanentCrmError,
    TransientCrmError,
    UnknownOutcomeError,
)
from crmhub.core.models import EndUser
from crmhub.http import retry_after_seconds
from crmhub_salesforce import soql
from crmhub_salesforce.errors import error_for_exception, error_for_response
from crmhub_salesforce.people import phone_forms, same_phone, split_name
from crmhub_salesforce.records import fit_bytes, fit_chars, parse_datetime
from crmhub_salesforce.settings import SalesforceSettingsSchema

NOW = datetime(2026, 11, 25, 9, 30, 5, tzinfo=timezone.utc)


def response(status: int, body: str = "", headers: dict[str, str] | None = None) -> requests.Response:
    made = requests.Response()
    made.status_code = status
    made._content = body.encode()
    made.headers.update(headers or {})
    return made


# --- errors -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("30", 30.0), ("Wed, 25 Nov 2026 09:31:05 GMT", 60.0), ("Wed, 25 Nov 2026 09:00:00 GMT", 0.0),
     ("soon", None), (None, None)],
)
def test_retry_after_reads_seconds_or_an_http_date(value, seconds):
    assert retry_after_seconds(value, now=NOW) == seconds


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (401, '[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]', AuthenticationError),
        (403, '[{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]', TransientCrmError),
        (403, '[{"message": "insufficient access", "errorCode": "INSUFFICIENT_ACCESS"}]', PermanentCrmError),
        (404, '[{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]', PermanentCrmError),
        (429, "", TransientCrmError),
        (503, "", TransientCrmError),
    ],
)
def test_responses_map_to_crmhub_errors(status, body, expected):
    error = error_for_response(response(status, body), "create Case", may_have_applied=True)
    assert type(error) is expected


def test_a_server_error_on_a_write_is_an_unknown_outcome_and_on_a_read_try_later():
    assert type(error_for_response(response(500), "create Case", may_have_applied=True)) is UnknownOutcomeError
    assert type(error_for_response(response(502), "query", may_have_applied=False)) is TransientCrmError


def test_a_limit_error_keeps_salesforce_s_words_and_a_retry_after_header():
    body = '[{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]'
    error = error_for_response(response(403, body, {"Retry-After": "Wed, 25 Nov 2026 09:31:05 GMT"}), "query", may_have_applied=False)
    assert "REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded." in str(error)
    assert isinstance(error.retry_after, float)  # measured from the wall clock; the date form is tested above


def test_a_connection_never_made_is_try_later_and_a_dropped_write_is_unknown():
    refused = requests.ConnectionError(
        urllib3.exceptions.MaxRetryError(None, "/", urllib3.exceptions.NewConnectionError(None, "refused"))
    )
    dropped = requests.ConnectionError(urllib3.exceptions.ProtocolError("Connection aborted."))
    assert type(error_for_exception(refused, "create Case", may_have_applied=True)) is TransientCrmError
    assert type(error_for_exception(dropped, "create Case", may_have_applied=True)) is UnknownOutcomeError
    assert type(error_for_exception(requests.ReadTimeout(), "create Case", may_have_applied=True)) is UnknownOutcomeError
    assert type(error_for_exception(requests.ReadTimeout(), "query", may_have_applied=False)) is TransientCrmError
    assert type(error_for_exception(requests.ConnectTimeout(), "create Case", may_have_applied=True)) is TransientCrmError


# --- SOQL and text --------------------------------------------------------------------------------------


def test_soql_literals_escape_quotes_backslashes_and_line_breaks():
    assert soql.literal("O'Brien \\ \"x\"\nend") == "'O\\'Brien \\\\ \\\"x\\\"\\nend'"
    assert soql.datetime_literal(datetime(2026, 11, 22, 10, 30, 5, tzinfo=timezone.utc)) == "2026-11-22T10:30:05Z"
    assert soql.date_literal(datetime(2026, 11, 22, 23, 30, tzinfo=timezone.utc)) == "2026-11-22"


def test_fit_bytes_keeps_whole_characters_and_marks_the_cut():
    text = "日本" * 1000  # 6,000 bytes
    cut = fit_bytes(text, 4000)
    assert len(cut.encode("utf-8")) <= 4000 and cut.endswith("[truncated by crmhub]")
    assert fit_bytes("short", 4000) == "short"
    assert fit_chars("abcdef", 4) == "abc…" and fit_chars("abc", 4) == "abc"


def test_salesforce_datetimes_are_parsed_with_their_offset():
    assert parse_datetime("2026-11-24T10:00:00.000+0000", "ClosedDate") == datetime(2026, 11, 24, 10, tzinfo=timezone.utc)
    with pytest.raises(PermanentCrmError, match="ClosedDate"):
        parse_datetime("yesterday", "ClosedDate")


def test_phone_forms_cover_how_salesforce_may_store_a_number():
    assert phone_forms("+14155550100", None) == ["+14155550100", "(415) 555-0100", "+1 415-555-0100"]
    assert phone_forms("415 555 0100", "US") == ["+14155550100", "415 555 0100", "(415) 555-0100", "+1 415-555-0100"]
    assert same_phone("(415) 555-0100", "+14155550100", None)
    assert same_phone("+44 20 7946 0958", "+442079460958", "US")
    assert not same_phone("(415) 555-0199", "+14155550100", None)


def test_a_new_contact_always_has_a_last_name():
    assert split_name(EndUser(name="Ada King Lovelace")) == {"LastName": "Lovelace", "FirstName": "Ada King"}
    assert split_name(EndUser(name="Ada")) == {"LastName": "Ada"}
    assert split_name(EndUser(email="ada@example.com")) == {"LastName": "ada@example.com"}


# --- settings ---------------------------------------------------------------------------------------------


def load(**settings):
    return SalesforceSettingsSchema().load({"client_id": "test-client-id", **settings})


def test_the_defaults_are_those_the_readme_documents():
    loaded = load(client_secret="test-client-secret")
    assert (loaded["api_version"], loaded["timeout_seconds"], loaded["login_url"]) == ("v60.0", 10.0, "https://login.salesforce.com")
    assert (loaded["leaf_queue_field"], loaded["session_id_field"]) == ("Crmhub_Leaf_Queue__c", "Crmhub_Session_Id__c")
    assert (loaded["note_object"], loaded["note_max_bytes"], loaded["tags_field"]) == ("CaseComment", 4000, None)
    assert loaded["person_records_relationship"] == "Cases"


def test_the_records_relationship_follows_the_record_object_and_the_secondary_lookup_shares_it():
    person_account = {"object": "Account", "record_field": "AccountId", "phone_fields": ["PersonMobilePhone"]}
    loaded = load(client_secret="test-client-secret", record_object="Opportunity", open_status="Prospecting",
                  secondary_lookup=person_account)
    assert loaded["person_records_relationship"] == "Opportunities"
    assert loaded["secondary_lookup"]["records_relationship"] == "Opportunities"
    own = load(client_secret="test-client-secret", secondary_lookup={**person_account, "records_relationship": "Cases__r"})
    assert (own["person_records_relationship"], own["secondary_lookup"]["records_relationship"]) == ("Cases", "Cases__r")


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({}, "client_secret"),
        ({"auth_flow": "jwt_bearer", "private_key": "test-key"}, "username"),
        ({"auth_flow": "jwt_bearer", "username": "u@example.com"}, "private_key"),
        ({"client_secret": "test-client-secret", "record_object": "Opportunity"}, "open_status"),
        ({"client_secret": "test-client-secret", "record_object": "WorkOrder", "open_status": "New"}, "closed_at_field"),
        ({"client_secret": "test-client-secret", "record_object": "WorkOrder", "open_status": "New"}, "person_records_relationship"),
        ({"client_secret": "test-client-secret", "person_records_relationship": "Cases) FROM Contact"}, "person_records_relationship"),
        ({"client_secret": "test-client-secret", "leaf_queue_field": "Queue__c OR Id != null"}, "leaf_queue_field"),
        ({"client_secret": "test-client-secret", "api_version": "60"}, "api_version"),
        ({"client_secret": "test-client-secret", "default_phone_region": "XX"}, "default_phone_region"),
        ({"client_secret": "test-client-secret", "colour": "blue"}, "colour"),
    ],
)
def test_invalid_settings_are_named(settings, key):
    with pytest.raises(ValidationError) as caught:
        load(**settings)
    assert key in caught.value.messages


def test_an_empty_name_switches_an_optional_field_off():
    loaded = load(client_secret="test-client-secret", origin_field="", owner_field="")
    assert loaded["origin_field"] is None and loaded["owner_field"] is None
