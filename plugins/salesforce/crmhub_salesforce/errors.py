"""Salesforce failures translated into crmhub's errors.

Salesforce reports errors as a JSON list of ``{"message", "errorCode", "fields"}`` objects (the
OAuth token endpoint as ``{"error", "error_description"}``). Its limits are not 429s: the org's
API request limit answers 403 ``REQUEST_LIMIT_EXCEEDED`` and an overloaded org 503, so both are
"try later" here, never a failure. Messages carry Salesforce's error code and text, never a token.
"""

from __future__ import annotations

from typing import Any

import requests

from crmhub.core.errors import (
    AuthenticationError,
    CrmError,
    PermanentCrmError,
    TransientCrmError,
    UnknownOutcomeError,
)
from crmhub.http import error_for_no_answer, json_or_none, one_line, retry_after_seconds

INVALID_SESSION_ID = "INVALID_SESSION_ID"
REQUEST_LIMIT_EXCEEDED = "REQUEST_LIMIT_EXCEEDED"
MAX_MESSAGE_CHARS = 500


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


def describe(response: requests.Response) -> str:
    """``HTTP 400 INVALID_FIELD: No such column 'foo'...``: what Salesforce said, shortened."""
    return describe_answer(response.status_code, json_or_none(response), response.reason)


def describe_answer(status: int, body: Any, reason: str | None = None) -> str:
    """:func:`describe` for an answer already taken apart (a composite subrequest's status and body)."""
    codes = error_codes(body)
    if codes:
        detail = "; ".join(f"{code}: {message}" if code else message for code, message in codes)
    else:
        detail = (reason or "").strip() or "no error details"
    return one_line(f"HTTP {status} {detail}", limit=MAX_MESSAGE_CHARS)


def is_invalid_session(response: requests.Response) -> bool:
    return response.status_code == 401 and any(
        code == INVALID_SESSION_ID for code, _ in error_codes(json_or_none(response))
    )


def error_for_response(response: requests.Response, action: str, *, may_have_applied: bool) -> CrmError:
    """The crmhub error for a failed REST call.

    :param action: what was being done, for the message (``"create Case"``).
    :param may_have_applied: the request was a write that a server error may have carried out
        (a 5xx other than 503 then becomes :class:`UnknownOutcomeError`).
    """
    return error_for_answer(
        response.status_code, json_or_none(response), action, may_have_applied=may_have_applied,
        retry_after=retry_after_seconds(response.headers.get("Retry-After")), reason=response.reason,
    )


def error_for_answer(
    status: int, body: Any, action: str, *, may_have_applied: bool, retry_after: float | None = None,
    reason: str | None = None,
) -> CrmError:
    """The crmhub error for a failed answer: a whole response's, or one composite subrequest's
    (its ``httpStatusCode`` and ``body``), mapped the same way."""
    codes = {code for code, _ in error_codes(body)}
    message = f"Salesforce could not {action}: {describe_answer(status, body, reason)}"
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
    """The crmhub error for a request that got no answer (see :func:`crmhub.http.error_for_no_answer`):
    a connection never made is "try later", a lost answer to a write that may have applied is an
    unknown outcome."""
    return error_for_no_answer(error, crm="Salesforce", action=action, may_have_taken_effect=may_have_applied)


def token_error(response: requests.Response) -> CrmError:
    """The crmhub error for a refused or failed OAuth token request."""
    body = json_or_none(response)
    status = response.status_code
    if isinstance(body, dict) and "error" in body:
        detail = f"HTTP {status} {body.get('error')}: {body.get('error_description', '')}".rstrip(": ")
    else:
        detail = describe(response)
    message = one_line(f"Salesforce refused the OAuth token request: {detail}", limit=MAX_MESSAGE_CHARS)
    if status == 429 or status >= 500:
        return TransientCrmError(message, retry_after_seconds(response.headers.get("Retry-After")))
    return AuthenticationError(message)
