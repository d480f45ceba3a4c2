"""Freshdesk failures → crmhub errors: statuses, error bodies, Retry-After, network failures."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from crmhub.core.errors import (
    AuthenticationError,
    PermanentCrmError,
    TransientCrmError,
    UnknownOutcomeError,
)
from crmhub.http import retry_after_seconds
from crmhub_freshdesk.failures import (
    error_for_exception,
    error_for_response,
    malformed,
    vendor_text,
)

NOW = datetime(2026, 11, 25, 9, 30, 5, tzinfo=timezone.utc)


def response(status: int, body: str = "", headers: dict[str, str] | None = None) -> requests.Response:
    made = requests.Response()
    made.status_code = status
    made._content = body.encode("utf-8")
    made.headers.update(headers or {})
    return made


VALIDATION = (
    '{"description": "Validation failed", "errors": [{"field": "email", '
    '"message": "It should be a unique value", "code": "duplicate_value"}, '
    '{"field": "subject", "message": "Mandatory attribute missing", "code": "missing_field"}]}'
)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("30", 30.0),
        (" 2.5 ", 2.5),
        ("Wed, 25 Nov 2026 09:31:05 GMT", 60.0),
        ("Wed, 25 Nov 2026 09:00:00 GMT", 0.0),  # a date in the past: retry now
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_is_seconds_or_an_http_date(value: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(value, now=NOW) == seconds


def test_vendor_text_lists_every_validation_error() -> None:
    assert vendor_text(response(400, VALIDATION)) == (
        "Validation failed; email: It should be a unique value (duplicate_value); "
        "subject: Mandatory attribute missing (missing_field)"
    )


def test_vendor_text_of_other_bodies() -> None:
    assert vendor_text(response(403, '{"code": "access_denied", "message": "You are not authorized"}')) == (
        "You are not authorized"
    )
    assert vendor_text(response(404)) == "no details"
    assert vendor_text(response(502, "<html>\n  <h1>Bad   gateway</h1></html>")) == "<html> <h1>Bad gateway</h1></html>"


@pytest.mark.parametrize(
    ("status", "is_write", "expected"),
    [
        (400, True, PermanentCrmError),
        (403, True, PermanentCrmError),
        (404, False, PermanentCrmError),
        (409, True, PermanentCrmError),
        (500, False, TransientCrmError),
        (503, True, UnknownOutcomeError),
    ],
)
def test_statuses_map_to_crm_errors(status: int, is_write: bool, expected: type) -> None:
    error = error_for_response(response(status, VALIDATION), "create a ticket", is_write)
    assert type(error) is expected
    assert f"Freshdesk answered {status} to create a ticket" in str(error)


def test_a_validation_failure_carries_freshdesks_words() -> None:
    error = error_for_response(response(400, VALIDATION), "create a ticket", True)
    assert "email: It should be a unique value" in str(error)


def test_401_is_an_authentication_error_naming_the_setting() -> None:
    error = error_for_response(
        response(401, '{"code": "invalid_credentials", "message": "You have to be logged in to perform this action."}'),
        "look up contacts", False,
    )
    assert isinstance(error, AuthenticationError)
    assert "api_key" in str(error)


def test_429_carries_retry_after() -> None:
    error = error_for_response(response(429, "", {"Retry-After": "30"}), "list tickets", False)
    assert isinstance(error, TransientCrmError) and not isinstance(error, UnknownOutcomeError)
    assert error.retry_after == 30.0
    assert error_for_response(response(429), "list tickets", False).retry_after is None


def refused() -> requests.ConnectionError:
    reason = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")
    return requests.ConnectionError(MaxRetryError(None, "/api/v2/tickets", reason))


def test_a_refused_connection_is_transient_even_for_a_write() -> None:
    error = error_for_exception(refused(), "create a ticket", is_write=True)
    assert type(error) is TransientCrmError


def test_a_dropped_connection_or_a_timeout_after_sending_is_an_unknown_outcome_for_writes() -> None:
    dropped = requests.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError()))
    assert type(error_for_exception(dropped, "create a ticket", is_write=True)) is UnknownOutcomeError
    assert type(error_for_exception(requests.ReadTimeout(), "create a ticket", is_write=True)) is UnknownOutcomeError
    assert type(error_for_exception(requests.ReadTimeout(), "list tickets", is_write=False)) is TransientCrmError
    assert type(error_for_exception(requests.ConnectTimeout(), "create a ticket", is_write=True)) is TransientCrmError


def test_a_bad_url_is_permanent() -> None:
    error = error_for_exception(requests.exceptions.InvalidURL("bad"), "list tickets", is_write=False)
    assert type(error) is PermanentCrmError and "base_url" in str(error)


def test_an_unreadable_answer_to_a_write_may_have_taken_effect() -> None:
    assert type(malformed("create a ticket", "not JSON", is_write=True)) is UnknownOutcomeError
    assert type(malformed("list tickets", "not JSON", is_write=False)) is PermanentCrmError
