"""Kustomer's failures as crmhub errors: status codes, Retry-After / x-ratelimit-reset, lost answers."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError

from crmhub.core.errors import (
    AuthenticationError,
    PermanentCrmError,
    TransientCrmError,
    UnknownOutcomeError,
)
from crmhub.testing.replay import replay
from crmhub_kustomer.client import KustomerClient
from crmhub_kustomer.http_errors import (
    KustomerNotFound,
    error_for_exception,
    error_for_response,
    retry_after_seconds,
)
from crmhub_kustomer.settings import KustomerSettings

NOW = 1_795_591_800.0  # 2026-11-25T07:30:00Z
HOST = "https://acme.api.kustomerapp.com"


def clock() -> float:
    return NOW


def answer(
    status: int, body: Any = None, headers: dict[str, str] | None = None, text: str | None = None
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers or {})
    if text is not None:
        response._content = text.encode()
    else:
        response._content = json.dumps(body if body is not None else {}).encode()
        response.headers.setdefault("Content-Type", "application/json")
    return response


def kustomer_error(status: int, code: str, title: str, **extra: Any) -> dict[str, Any]:
    return {"errors": [{"status": status, "code": code, "title": title, **extra}]}


def mapped(response: requests.Response, *, write: bool = False) -> Any:
    return error_for_response(response, "do it", may_have_taken_effect=write, secret="sekrit-key", clock=clock)


# --- Retry-After and x-ratelimit-reset ---------------------------------------------------------------


def test_retry_after_in_seconds() -> None:
    assert retry_after_seconds({"Retry-After": "30"}, clock) == 30.0


def test_retry_after_as_an_http_date_counts_from_now() -> None:
    assert retry_after_seconds({"Retry-After": "Wed, 25 Nov 2026 07:30:45 GMT"}, clock) == 45.0


def test_retry_after_in_the_past_means_now() -> None:
    assert retry_after_seconds({"Retry-After": "Wed, 25 Nov 2026 07:00:00 GMT"}, clock) == 0.0


def test_ratelimit_reset_as_epoch_seconds_counts_from_now() -> None:
    assert retry_after_seconds({"x-ratelimit-reset": str(int(NOW) + 17)}, clock) == 17.0


def test_ratelimit_reset_as_a_delay() -> None:
    assert retry_after_seconds({"x-ratelimit-reset": "12"}, clock) == 12.0


def test_retry_after_wins_over_ratelimit_reset() -> None:
    assert retry_after_seconds({"Retry-After": "5", "x-ratelimit-reset": str(int(NOW) + 50)}, clock) == 5.0


def test_unreadable_wait_headers_give_no_wait() -> None:
    assert retry_after_seconds({"Retry-After": "soon", "x-ratelimit-reset": "later"}, clock) is None
    assert retry_after_seconds({}, clock) is None


# --- status codes ------------------------------------------------------------------------------------


def test_401_is_an_authentication_error_with_kustomer_words() -> None:
    error = mapped(answer(401, kustomer_error(401, "unauthorized", "Unauthorized", detail="Invalid or expired token")))
    assert isinstance(error, AuthenticationError)
    assert "unauthorized: Invalid or expired token" in str(error)


def test_403_is_permanent_and_points_at_the_key_roles() -> None:
    error = mapped(answer(403, kustomer_error(403, "forbidden", "Forbidden")))
    assert isinstance(error, PermanentCrmError) and not isinstance(error, AuthenticationError)
    assert "roles" in str(error)


def test_404_is_a_not_found_permanent_error() -> None:
    error = mapped(answer(404, kustomer_error(404, "not_found", "Not Found")))
    assert isinstance(error, KustomerNotFound) and isinstance(error, PermanentCrmError)


def test_400_names_the_field_kustomer_pointed_at() -> None:
    body = {"errors": [
        {"code": "bad_request", "message": "Invalid custom attribute", "source": {"pointer": "/custom/xStr"}}
    ]}
    error = mapped(answer(400, body))
    assert type(error) is PermanentCrmError
    assert "bad_request: Invalid custom attribute (at /custom/xStr)" in str(error)


def test_429_is_transient_with_the_wait_from_ratelimit_reset() -> None:
    headers = {"x-ratelimit-limit": "1000", "x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 42)}
    error = mapped(answer(429, kustomer_error(429, "too_many_requests", "Too Many Requests"), headers))
    assert type(error) is TransientCrmError
    assert error.retry_after == 42.0
    assert "0 requests left" in str(error)


def test_5xx_on_a_read_is_transient_and_on_a_create_unknown() -> None:
    assert type(mapped(answer(502, text="Bad Gateway"))) is TransientCrmError
    assert isinstance(mapped(answer(502, text="Bad Gateway"), write=True), UnknownOutcomeError)


def test_the_api_key_never_appears_in_a_message() -> None:
    error = mapped(answer(400, text="token sekrit-key is not valid here"))
    assert "sekrit-key" not in str(error)
    assert "***" in str(error)


def test_2xx_is_no_error() -> None:
    assert mapped(answer(201, {"data": {}})) is None


# --- no answer ---------------------------------------------------------------------------------------


def _refused() -> requests.exceptions.ConnectionError:
    refused = "Failed to establish a new connection: [Errno 111] Connection refused"
    cause = NewConnectionError(None, refused)  # type: ignore[arg-type]
    return requests.exceptions.ConnectionError(MaxRetryError(None, "/v1/customers", cause))  # type: ignore[arg-type]


def test_connection_refused_is_transient_even_for_a_create() -> None:
    error = error_for_exception(_refused(), "create", may_have_taken_effect=True)
    assert type(error) is TransientCrmError


def test_connect_timeout_is_transient_even_for_a_create() -> None:
    error = error_for_exception(requests.exceptions.ConnectTimeout(), "create", may_have_taken_effect=True)
    assert type(error) is TransientCrmError


def test_read_timeout_on_a_create_is_unknown_and_on_a_read_transient() -> None:
    assert isinstance(error_for_exception(requests.exceptions.ReadTimeout(), "create", may_have_taken_effect=True),
                      UnknownOutcomeError)
    assert type(error_for_exception(requests.exceptions.ReadTimeout(), "read", may_have_taken_effect=False)) \
        is TransientCrmError


def test_connection_dropped_after_sending_a_create_is_unknown() -> None:
    dropped = requests.exceptions.ConnectionError("Connection aborted.", "RemoteDisconnected('closed')")
    assert isinstance(error_for_exception(dropped, "create", may_have_taken_effect=True), UnknownOutcomeError)


# --- the client --------------------------------------------------------------------------------------


def client() -> KustomerClient:
    settings = KustomerSettings(api_key="sekrit-key", base_url=HOST, anonymous_customer_id="a0")
    return KustomerClient(settings, clock=clock)


def fixture(*exchanges: dict[str, Any]) -> dict[str, Any]:
    return {"doc": "https://developer.kustomer.com/docs/get-started/making-requests", "exchanges": list(exchanges)}


def test_every_request_carries_the_bearer_key_and_a_user_agent() -> None:
    exchange = {"request": {"method": "GET", "url": f"{HOST}/v1/conversations/c1"},
                "response": {"status": 200, "json": {"data": {"id": "c1"}}}}
    with replay(fixture(exchange)) as seen:
        client().get("/v1/conversations/c1", "read")
    headers = seen.calls[0][4]
    assert headers["Authorization"] == "Bearer sekrit-key"
    assert headers["User-Agent"].startswith("crmhub-kustomer/")


def test_a_2xx_that_is_not_json_after_a_create_is_unknown() -> None:
    exchange = {"request": {"method": "POST", "url": f"{HOST}/v1/customers/c/conversations"},
                "response": {"status": 201, "body": "<html>ok</html>"}}
    with replay(fixture(exchange)):
        with pytest.raises(UnknownOutcomeError, match="not a JSON object"):
            client().post("/v1/customers/c/conversations", {}, "create", safe_to_repeat=False)


def test_a_2xx_that_is_not_json_after_a_read_is_permanent() -> None:
    exchange = {"request": {"method": "GET", "url": f"{HOST}/v1/conversations/c1"},
                "response": {"status": 200, "body": "[1, 2]"}}
    with replay(fixture(exchange)):
        with pytest.raises(PermanentCrmError, match="not a JSON object"):
            client().get("/v1/conversations/c1", "read")


def test_a_404_lookup_is_none() -> None:
    exchange = {"request": {"method": "GET", "url": f"{HOST}/v1/customers/email=nobody@example.com"},
                "response": {"status": 404, "json": kustomer_error(404, "not_found", "Not Found")}}
    with replay(fixture(exchange)):
        assert client().get_if_exists("/v1/customers/email=nobody@example.com", "look up") is None


def test_repr_and_settings_repr_hide_the_key() -> None:
    made = client()
    assert "sekrit-key" not in repr(made) and "sekrit-key" not in repr(made.settings)
