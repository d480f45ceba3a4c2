"""Kustomer's HTTP failures, translated into the crmhub errors the dispatcher acts on.

Kustomer answers errors with ``{"errors": [{"status", "code", "title" | "message", "detail"?,
"source"?}]}`` (developer.kustomer.com/docs/concepts/errors), limits every org per minute and
answers ``429`` with ``x-ratelimit-limit`` / ``x-ratelimit-remaining`` / ``x-ratelimit-reset``
headers (developer.kustomer.com/docs/concepts/rate-limits). Nothing here sleeps or retries: the
dispatcher owns retries, and needs to know only whether a failed request may have taken effect.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone

import requests

from crmhub.core.errors import (
    AuthenticationError,
    CrmError,
    PermanentCrmError,
    TransientCrmError,
    UnknownOutcomeError,
)
from crmhub.http import error_for_no_answer, json_or_none, one_line
from crmhub.http import retry_after_seconds as retry_after_header_seconds

Clock = Callable[[], float]
"""Seconds since the epoch; injectable so that tests do not depend on the wall clock."""

# x-ratelimit-reset is a point in time (epoch seconds); a small number can only be a delay.
_EPOCH_THRESHOLD = 1_000_000_000


class KustomerNotFound(PermanentCrmError):
    """Kustomer answered 404: the customer or conversation does not exist (deleted or merged)."""


def vendor_error_text(response: requests.Response, secret: str) -> str:
    """Kustomer's own words for an error, shortened and with ``secret`` blanked out."""
    body = json_or_none(response)
    errors = body.get("errors") if isinstance(body, Mapping) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
        first = errors[0]
        words = first.get("message") or first.get("detail") or first.get("title")
        source = first.get("source")
        where = (source.get("pointer") or source.get("parameter")) if isinstance(source, Mapping) else None
        text = ": ".join(str(part) for part in (first.get("code"), words) if part)
        if where:
            text += f" (at {where})"
    else:
        text = response.text
    return one_line(text, secrets=[secret]) or "no error text"


def retry_after_seconds(headers: Mapping[str, str], clock: Clock = time.time) -> float | None:
    """How long Kustomer asked us to wait: ``Retry-After`` (seconds or an HTTP date), else
    ``x-ratelimit-reset`` (epoch seconds of the window's reset, or a delay); None if neither says."""
    asked = retry_after_header_seconds(headers.get("Retry-After"), datetime.fromtimestamp(clock(), timezone.utc))
    if asked is not None:
        return asked
    reset = headers.get("x-ratelimit-reset")
    if reset:
        try:
            value_f = float(reset.strip())
        except ValueError:
            return None
        if value_f >= _EPOCH_THRESHOLD:
            return max(0.0, value_f - clock())
        return max(0.0, value_f)
    return None


def error_for_response(
    response: requests.Response, action: str, *, may_have_taken_effect: bool, secret: str, clock: Clock = time.time
) -> CrmError | None:
    """The crmhub error for a non-2xx answer to ``action`` (None for a 2xx).

    ``may_have_taken_effect`` is true for requests that are not safe to repeat (creating a
    conversation or a note): a server error then leaves the effect unknown.
    """
    status = response.status_code
    if 200 <= status < 300:
        return None
    said = vendor_error_text(response, secret)
    if status == 401:
        return AuthenticationError(f"Kustomer refused the API key while trying to {action} (401): {said}")
    if status == 429:
        wait = retry_after_seconds(response.headers, clock)
        remaining = response.headers.get("x-ratelimit-remaining")
        budget = f", {remaining} requests left in the window" if remaining is not None else ""
        return TransientCrmError(
            f"Kustomer rate limit reached while trying to {action} (429{budget}): {said}", retry_after=wait
        )
    if status >= 500:
        message = f"Kustomer failed while trying to {action} ({status}): {said}"
        if may_have_taken_effect:
            return UnknownOutcomeError(message + "; the request may have taken effect")
        return TransientCrmError(message, retry_after=retry_after_seconds(response.headers, clock))
    if status == 404:
        return KustomerNotFound(f"Kustomer found nothing while trying to {action} (404): {said}")
    if status == 403:
        return PermanentCrmError(
            f"Kustomer forbade this API key to {action} (403; check the key's roles): {said}"
        )
    return PermanentCrmError(f"Kustomer refused to {action} ({status}): {said}")


def error_for_exception(error: requests.RequestException, action: str, *, may_have_taken_effect: bool) -> CrmError:
    """The crmhub error for a request that got no answer (see :func:`crmhub.http.error_for_no_answer`):
    nothing was sent when the connection could not be made; once it was, a lost answer to a write
    that is not safe to repeat leaves its effect unknown."""
    return error_for_no_answer(error, crm="Kustomer", action=action, may_have_taken_effect=may_have_taken_effect)
