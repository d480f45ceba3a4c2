"""Salesforce failures translated into crmhub's errors.

Salesforce reports errors as a JSON list of ``{"message", "errorCode", "fields"}`` objects (the
OAuth token endpoint as ``{"error", "error_description"}``). Its limits are not 429s: the org's
API request limit answers 403 ``REQUEST_LIMIT_EXCEEDED`` and an overloaded org 503, so both are
"try later" here, never a failure. Messages carry Salesforce's error code and text, never a token.
"""

from __future__ import annotations

from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import requests
import urllib3.exceptions

from crmhub.core.errors import (
    AuthenticationError,
    CrmError,
    PermanentCrmError,
    TransientCrmError,
    UnknownOutcomeError,
)

INVALID_SESSION_ID = "INVALID_SESSION_ID"
REQUEST_LIMIT_EXCEEDED = "REQUEST_LIMIT_EXCEEDED"
MAX_MESSAGE_CHARS = 500


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: a number of seconds, or an HTTP date (RFC 9110); None if absent
    or unreadable. A date in the past means "now" (0)."""
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())


def error_codes(body: Any) -> list[tuple[str, str]]:
    """``[(errorCode, message)]`` from a REST error body; ``[]`` if it is not one."""
    if isinstance(body, dict):
        body = [body]
    if not isinstance(body, list):
        return []
    found = []
    for item in body:
        if isinstance(item, dict) and ("errorCode" in item or "message" in item):
            found.append((str(item.get("errorCode", "")), str(item.get("message", ""))))
    return found


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def describe(response: requests.Response) -> str:
    """``HTTP 400 INVALID_FIELD: No such column 'foo'...``: what Salesforce said, shortened."""
    codes = error_codes(_json_or_none(response))
    if codes:
        detail = "; ".join(f"{code}: {message}" if code else message for code, message in codes)
    else:
        detail = (response.reason or "").strip() or "no error details"
    return f"HTTP {response.status_code} {detail}"[:MAX_MESSAGE_CHARS]


def is_invalid_session(response: requests.Response) -> bool:
    return response.status_code == 401 and any(
        code == INVALID_SESSION_ID for code, _ in error_codes(_json_or_none(response))
    )


def error_for_response(response: requests.Response, action: str, *, may_have_applied: bool) -> CrmError:
    """The crmhub error for a failed REST call.

    :param action: what was being done, for the message (``"create Case"``).
    :param may_have_applied: the request was a write that a server error may have carried out
        (a 5xx other than 503 then becomes :class:`UnknownOutcomeError`).
    """
    status = response.status_code
    codes = {code for code, _ in error_codes(_json_or_none(response))}
    message = f"Salesforce could not {action}: {describe(response)}"
    retry_after = retry_after_seconds(response.headers.get("Retry-After"))
    if status == 401:
        return AuthenticationError(message)
    if status == 403 and REQUEST_LIMIT_EXCEEDED in codes:
        return TransientCrmError(f"{message} (the org's API request limit; try later)", retry_after)
    if status == 429:
        return TransientCrmError(message, retry_after)
    if status == 503:
        return TransientCrmError(message, retry_after)
    if status >= 500:
        if may_have_applied:
            return UnknownOutcomeError(message, retry_after)
        return TransientCrmError(message, retry_after)
    if status == 300:
        return PermanentCrmError(f"Salesforce could not {action}: HTTP 300, several records match the external id")
    return PermanentCrmError(message)


def error_for_exception(error: requests.RequestException, action: str, *, may_have_applied: bool) -> CrmError:
    """The crmhub error for a request that got no answer.

    A connection that was never made cannot have done anything: try later. A timeout or a
    connection dropped after the request went out may have left a write done: unknown outcome.
    """
    name = type(error).__name__
    if isinstance(error, requests.ConnectTimeout) or _never_connected(error):
        return TransientCrmError(f"Salesforce could not be reached to {action} ({name})")
    if may_have_applied:
        return UnknownOutcomeError(f"no answer from Salesforce to {action}; it may have been done ({name})")
    return TransientCrmError(f"no answer from Salesforce to {action} ({name})")


def _never_connected(error: requests.RequestException) -> bool:
    if not isinstance(error, requests.ConnectionError) or isinstance(error, requests.Timeout):
        return False
    reason = error.args[0] if error.args else None
    if isinstance(reason, urllib3.exceptions.MaxRetryError):
        reason = reason.reason
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


def token_error(response: requests.Response) -> CrmError:
    """The crmhub error for a refused or failed OAuth token request."""
    body = _json_or_none(response)
    status = response.status_code
    if isinstance(body, dict) and "error" in body:
        detail = f"HTTP {status} {body.get('error')}: {body.get('error_description', '')}".rstrip(": ")
    else:
        detail = describe(response)
    message = f"Salesforce refused the OAuth token request: {detail}"[:MAX_MESSAGE_CHARS]
    if status == 429 or status >= 500:
        return TransientCrmError(message, retry_after_seconds(response.headers.get("Retry-After")))
    return AuthenticationError(message)
