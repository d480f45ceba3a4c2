"""Zendesk's HTTP failures, translated into crmhub's CRM errors (one place, the same for every call).

=====================================  =========================================================
Zendesk answers                        crmhub raises
=====================================  =========================================================
401                                    AuthenticationError
403, 404, 400, 422 and other 4xx       PermanentCrmError with Zendesk's error text
409 (ticket changed under us)          TransientCrmError: read again and retry
429                                    TransientCrmError(retry_after from ``Retry-After``)
503                                    TransientCrmError(retry_after from ``Retry-After``)
other 5xx                              TransientCrmError; UnknownOutcomeError for a write
connection refused / DNS / connect     TransientCrmError (nothing was sent)
timeout or dropped connection          UnknownOutcomeError for a write (it may have happened)
an invalid URL (nothing was sent)      PermanentCrmError (check the settings)
a body that is not the expected JSON   PermanentCrmError saying so
=====================================  =========================================================

Failures without an answer are mapped by :func:`crmhub.http.error_for_no_answer`, called by the client.

Messages carry the method, the path and Zendesk's own error text, never a header or credential.
"""

from __future__ import annotations

import json
from datetime import datetime

import requests

from crmhub.core.errors import (
    AuthenticationError, PermanentCrmError, TransientCrmError, UnknownOutcomeError,
)
from crmhub.http import json_or_none, one_line, retry_after_seconds


class ZendeskNotFound(PermanentCrmError):
    """HTTP 404: the ticket or user does not exist (or is not visible to this API user)."""


def error_text(response: requests.Response) -> str:
    """Zendesk's explanation of a failure, from its error shapes, cut to a readable length.

    Shapes seen: ``{"error": "RecordNotFound", "description": "Not found"}``,
    ``{"error": "RecordInvalid", "description": "...", "details": {"base": [{"description": "..."}]}}``,
    ``{"error": {"title": "...", "message": "..."}}`` and ``{"errors": [{"title": "...", "detail": "..."}]}``.
    """
    body = json_or_none(response)
    if body is None:
        return one_line(response.text or response.reason or "")
    parts: list[str] = []
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            parts += [str(error[k]) for k in ("title", "message") if error.get(k)]
        elif error:
            parts.append(str(error))
        if body.get("description"):
            parts.append(str(body["description"]))
        details = body.get("details")
        if isinstance(details, dict):
            for key, problems in details.items():
                for problem in problems if isinstance(problems, list) else [problems]:
                    text = problem.get("description") if isinstance(problem, dict) else problem
                    if text:
                        parts.append(f"{key}: {text}")
        for item in body.get("errors") or []:
            if isinstance(item, dict):
                parts.append(" ".join(str(item[k]) for k in ("title", "detail") if item.get(k)))
    return one_line("; ".join(part for part in parts if part) or json.dumps(body))


def check_response(response: requests.Response, action: str, write: bool, now: datetime | None = None) -> None:
    """Raise the crmhub error for a failed answer; return quietly for 2xx/3xx."""
    status = response.status_code
    if status < 400:
        return
    what = f"Zendesk {action} failed with HTTP {status}: {error_text(response)}"
    if status == 401:
        raise AuthenticationError(f"{what} (check email and api_token)")
    if status == 409:
        raise TransientCrmError(f"{what} (the ticket changed meanwhile; it will be read again)")
    if status in (429, 503):
        raise TransientCrmError(what, retry_after=retry_after_seconds(response.headers.get("Retry-After"), now))
    if status >= 500:
        if write:
            raise UnknownOutcomeError(f"{what}; the change may or may not have been made")
        raise TransientCrmError(what)
    if status == 404:
        raise ZendeskNotFound(what)
    raise PermanentCrmError(what)

