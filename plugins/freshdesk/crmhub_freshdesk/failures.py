"""Freshdesk's failures translated into crmhub's CRM errors, so the dispatcher can act on the class.

Freshdesk API v2 answers errors with an HTTP status and, for validation failures, a JSON body
``{"description": "Validation failed", "errors": [{"field", "message", "code"}]}``; other errors
carry ``{"code", "message"}`` or nothing (404). Rate limits are 429 with ``Retry-After`` in
seconds. The mapping:

======================  ==============================================================
401                     :class:`AuthenticationError` (the API key was refused)
403                     :class:`PermanentCrmError` (the agent may not do this, or a
                        feature is off; Freshdesk signals limits with 429, not 403)
400, 404, 409, other    :class:`PermanentCrmError` with Freshdesk's own error text
429                     :class:`TransientCrmError` with ``retry_after`` from ``Retry-After``
5xx                     :class:`TransientCrmError`; :class:`UnknownOutcomeError` for a write
timeout after sending   :class:`UnknownOutcomeError` for a write, else transient
no connection           :class:`TransientCrmError` (nothing reached Freshdesk)
unreadable 2xx body     :class:`UnknownOutcomeError` for a write (it may have happened),
                        :class:`PermanentCrmError` for a read
======================  ==============================================================

No message ever carries the API key: requests authenticates with a header, which is never shown.
"""

from __future__ import annotations

import requests

from crmhub.core.errors import (
    AuthenticationError,
    CrmError,
    PermanentCrmError,
    TransientCrmError,
    UnknownOutcomeError,
)
from crmhub.http import error_for_no_answer, json_or_none, one_line, retry_after_seconds


def vendor_text(response: requests.Response) -> str:
    """Freshdesk's explanation of a failure, in one line (its ``description``/``errors`` or
    ``message``; a short excerpt of anything else)."""
    body = json_or_none(response)
    if body is None:
        return one_line(response.text) or "no details"
    if not isinstance(body, dict):
        return one_line(str(body))
    parts = [str(body[key]) for key in ("description", "message") if body.get(key)]
    for error in body.get("errors") or []:
        if isinstance(error, dict):
            where = f"{error['field']}: " if error.get("field") else ""
            code = f" ({error['code']})" if error.get("code") else ""
            parts.append(f"{where}{error.get('message', '')}{code}".strip())
    if not parts and body.get("code"):
        parts.append(str(body["code"]))
    return one_line("; ".join(parts)) or "no details"


def error_for_response(response: requests.Response, action: str, is_write: bool) -> CrmError:
    """The crmhub error for a Freshdesk answer with a status of 400 or more."""
    status = response.status_code
    detail = vendor_text(response)
    said = f"Freshdesk answered {status} to {action}: {detail}"
    if status == 401:
        return AuthenticationError(f"{said} (check api_key in [crm.freshdesk])")
    if status == 429:
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        return TransientCrmError(f"{said} (rate limited)", retry_after=retry_after)
    if status >= 500:
        if is_write:
            return UnknownOutcomeError(f"{said}; the change may or may not have been made")
        return TransientCrmError(said)
    return PermanentCrmError(said)


def error_for_exception(error: requests.RequestException, action: str, is_write: bool) -> CrmError:
    """The crmhub error for a request that got no HTTP answer (see :func:`crmhub.http.error_for_no_answer`)."""
    return error_for_no_answer(error, crm="Freshdesk", action=action, may_have_taken_effect=is_write)


def malformed(action: str, problem: str, is_write: bool) -> CrmError:
    """A success status whose body is not what Freshdesk documents."""
    said = f"Freshdesk's answer to {action} is not the expected JSON: {problem}"
    if is_write:
        return UnknownOutcomeError(f"{said}; the change may have been made")
    return PermanentCrmError(said)

