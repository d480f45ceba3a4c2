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
a body that is not the expected JSON   PermanentCrmError saying so
=====================================  =========================================================

Messages carry the method, the path and Zendesk's own error text, never a header or credential.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from urllib3.exceptions import NameResolutionError, NewConnectionError

from crmhub.core.errors import (
    AuthenticationError, PermanentCrmError, TransientCrmError, UnknownOutcomeError,
)

MAX_ERROR_TEXT = 300


class ZendeskNotFound(PermanentCrmError):
    """HTTP 404: the ticket or user does not exist (or is not visible to this API user)."""


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP date."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())


def error_text(response: requests.Response) -> str:
    """Zendesk's explanation of a failure, from its error shapes, cut to a readable length.

    Shapes seen: ``{"error": "RecordNotFound", "description": "Not found"}``,
    ``{"error": "RecordInvalid", "description": "...", "details": {"base": [{"description": "..."}]}}``,
    ``{"error": {"title": "...", "message": "..."}}`` and ``{"errors": [{"title": "...", "detail": "..."}]}``.
    """
    try:
        body: Any = response.json()
    except ValueError:
        return (response.text or response.reason or "").strip()[:MAX_ERROR_TEXT]
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
    text = "; ".join(part for part in parts if part) or json.dumps(body)
    return text[:MAX_ERROR_TEXT]


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


def _nothing_sent(error: requests.exceptions.ConnectionError) -> bool:
    """Whether the connection failed before the request left (refused, DNS, connect timeout)."""
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return True
    seen: list[BaseException] = []
    pending: list[object] = [error]
    while pending and len(seen) < 10:
        cause = pending.pop()
        if not isinstance(cause, BaseException) or any(cause is s for s in seen):
            continue
        if isinstance(cause, (NewConnectionError, NameResolutionError)):
            return True
        seen.append(cause)
        pending += [cause.__cause__, cause.__context__, getattr(cause, "reason", None), *cause.args[:1]]
    return False


def transport_error(error: requests.exceptions.RequestException, action: str, write: bool) -> Exception:
    """The crmhub error for a request that got no HTTP answer."""
    if isinstance(error, requests.exceptions.ConnectionError) and _nothing_sent(error):
        return TransientCrmError(f"Zendesk could not be reached for {action}: {type(error).__name__}")
    if write:
        return UnknownOutcomeError(
            f"no answer from Zendesk for {action} ({type(error).__name__}); the change may or may not have been made"
        )
    return TransientCrmError(f"no answer from Zendesk for {action}: {type(error).__name__}")
