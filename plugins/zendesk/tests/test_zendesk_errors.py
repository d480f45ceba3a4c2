"""Zendesk failures → crmhub errors: status codes, Retry-After, transport failures, no secrets."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone

import pytest
import requests
import responses
from urllib3.exceptions import NewConnectionError

from crmhub.core.errors import (
    AuthenticationError, PermanentCrmError, TransientCrmError, UnknownOutcomeError,
)
from crmhub.http import retry_after_seconds
from crmhub.testing import replay
from crmhub_zendesk.client import ZendeskClient
from crmhub_zendesk.http_errors import ZendeskNotFound, check_response
from crmhub_zendesk.settings import ZendeskSettings

NOW = datetime(2026, 11, 25, 9, 30, 5, tzinfo=timezone.utc)
API = "https://acme.zendesk.com/api/v2"


def answer(status: int, body: object = None, **headers: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers)
    response._content = (json.dumps(body) if body is not None else "").encode()
    return response


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("30", 30.0), ("0", 0.0), (" 2.5 ", 2.5), ("Wed, 25 Nov 2026 09:31:05 GMT", 60.0),
     ("Wed, 25 Nov 2026 09:00:00 GMT", 0.0), ("soon", None), ("", None), (None, None)],
)
def test_retry_after_takes_seconds_or_an_http_date(value: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(value, NOW) == seconds


def test_429_is_transient_with_the_http_date_turned_into_seconds() -> None:
    with pytest.raises(TransientCrmError) as caught:
        check_response(answer(429, {"error": "APIRateLimitExceeded"}, **{"Retry-After": "Wed, 25 Nov 2026 09:32:05 GMT"}),
                       "ticket create", write=True, now=NOW)
    assert caught.value.retry_after == 120.0 and not isinstance(caught.value, UnknownOutcomeError)


@pytest.mark.parametrize(
    ("status", "body", "write", "error", "text"),
    [
        (401, {"error": "Couldn't authenticate you"}, False, AuthenticationError, "Couldn't authenticate you"),
        (403, {"error": {"title": "Forbidden", "message": "You do not have access"}}, True, PermanentCrmError,
         "Forbidden; You do not have access"),
        (404, {"error": "RecordNotFound", "description": "Not found"}, False, ZendeskNotFound, "RecordNotFound; Not found"),
        (422, {"error": "RecordInvalid", "description": "Record validation errors",
               "details": {"status": [{"description": "Status: closed prevents ticket update"}]}}, True,
         PermanentCrmError, "status: Status: closed prevents ticket update"),
        (400, {"errors": [{"title": "Invalid attribute", "detail": "requester_id is invalid"}]}, True,
         PermanentCrmError, "Invalid attribute requester_id is invalid"),
        (409, {"error": "UpdateConflict"}, True, TransientCrmError, "changed meanwhile"),
        (503, None, False, TransientCrmError, "HTTP 503"),
        (500, None, False, TransientCrmError, "HTTP 500"),
        (500, None, True, UnknownOutcomeError, "may or may not"),
    ],
)
def test_status_codes_map_to_crmhub_errors(status: int, body: object, write: bool, error: type, text: str) -> None:
    with pytest.raises(error, match=text.replace("(", r"\(")) as caught:
        check_response(answer(status, body), "the call", write=write, now=NOW)
    if error is PermanentCrmError:
        assert not isinstance(caught.value, (AuthenticationError, TransientCrmError))
    if error is TransientCrmError and write is False:
        assert not isinstance(caught.value, UnknownOutcomeError)


def test_503_honours_retry_after() -> None:
    with pytest.raises(TransientCrmError) as caught:
        check_response(answer(503, None, **{"Retry-After": "12"}), "the call", write=True, now=NOW)
    assert caught.value.retry_after == 12.0 and not isinstance(caught.value, UnknownOutcomeError)


@pytest.fixture
def client() -> ZendeskClient:
    return ZendeskClient(ZendeskSettings(email="agent@example.com", api_token="s3cr3t-token-value", subdomain="acme"))


def test_nothing_sent_is_transient_even_for_a_write(client: ZendeskClient) -> None:
    refused = requests.exceptions.ConnectionError(NewConnectionError(None, "Connection refused"))  # type: ignore[arg-type]
    with responses.RequestsMock() as zendesk:
        zendesk.add("POST", f"{API}/tickets.json", body=refused)
        with pytest.raises(TransientCrmError) as caught:
            client.post("/tickets.json", {"ticket": {}}, "ticket create")
    assert not isinstance(caught.value, UnknownOutcomeError)


def test_a_dropped_write_is_an_unknown_outcome_and_a_dropped_read_is_transient(client: ZendeskClient) -> None:
    dropped = requests.exceptions.ConnectionError("Connection aborted.", ConnectionResetError(104, "reset by peer"))
    with responses.RequestsMock() as zendesk:
        zendesk.add("POST", f"{API}/tickets.json", body=dropped)
        zendesk.add("GET", f"{API}/tickets/1.json", body=dropped)
        with pytest.raises(UnknownOutcomeError):
            client.post("/tickets.json", {"ticket": {}}, "ticket create")
        with pytest.raises(TransientCrmError) as caught:
            client.get("/tickets/1.json")
    assert not isinstance(caught.value, UnknownOutcomeError)


def test_a_body_that_is_not_json_is_a_permanent_error_that_says_so(client: ZendeskClient) -> None:
    page = {"doc": "d", "exchanges": [{"request": {"method": "GET", "url": f"{API}/tickets/1.json"},
                                       "response": {"status": 200, "body": "<html>maintenance</html>"}}]}
    with replay(page), pytest.raises(PermanentCrmError, match="not JSON"):
        client.get("/tickets/1.json")


def test_no_secret_in_errors_or_repr(client: ZendeskClient) -> None:
    refusal = {"doc": "d", "exchanges": [{"request": {"method": "GET", "url": f"{API}/tickets/1.json"},
                                          "response": {"status": 401, "json": {"error": "Couldn't authenticate you"}}}]}
    with replay(refusal) as seen, pytest.raises(AuthenticationError) as caught:
        client.get("/tickets/1.json")
    expected = base64.b64encode(b"agent@example.com/token:s3cr3t-token-value").decode()
    assert seen.calls[0][4]["Authorization"] == f"Basic {expected}"  # API-token auth: EMAIL/token:TOKEN
    shown = str(caught.value) + repr(client) + repr(client.settings)
    assert "s3cr3t-token-value" not in shown and "Basic" not in shown
