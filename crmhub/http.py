"""Helpers every CRM plugin needs to map HTTP failures to crmhub's errors.

A CRM plugin talks to its vendor with ``requests`` and must turn each failure into one of the
errors of :mod:`crmhub.core.errors`, because the dispatcher acts on the class alone. Most of that
mapping is the vendor's own (its status codes, its error bodies, its rate-limit headers) and stays
in the plugin; what is the same for every CRM lives here:

- :func:`retry_after_seconds` reads a ``Retry-After`` header (RFC 9110: delta-seconds or an HTTP
  date) as the ``retry_after`` of a :class:`~crmhub.core.errors.TransientCrmError`.
- :func:`error_for_no_answer` maps a ``requests`` exception (the request got no HTTP answer) to
  the right error, deciding whether the request can have reached the CRM:

  ==========================================  ===============================================
  what happened                               error
  ==========================================  ===============================================
  invalid URL (nothing could be sent)         :class:`PermanentCrmError` (fix the settings)
  connection refused, DNS, connect timeout    :class:`TransientCrmError` (nothing was sent)
  timeout or connection dropped after         :class:`UnknownOutcomeError` when the request
  sending                                     may have taken effect, else
                                              :class:`TransientCrmError`
  ==========================================  ===============================================

- :func:`json_or_none` and :func:`one_line` help quote the vendor's explanation of a failure in
  an error message: on one line, cut to a readable length, with secrets masked.

Usage in a plugin's client::

    try:
        response = session.request(method, url, json=body, timeout=timeout)
    except requests.RequestException as error:
        raise error_for_no_answer(error, crm="Acme", action=action, may_have_taken_effect=is_create) from None
    if response.status_code == 429:
        raise TransientCrmError(f"Acme rate limit: {one_line(response.text, secrets=[api_key])}",
                                retry_after=retry_after_seconds(response.headers.get("Retry-After")))
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from crmhub.core.errors import CrmError, PermanentCrmError, TransientCrmError, UnknownOutcomeError

ERROR_TEXT_LIMIT = 300
"""Longest vendor text :func:`one_line` keeps by default: enough for a reason, short enough for a log line."""

_SECRET_MASK = "***"
_INVALID_URL = (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema)
_MAX_CAUSES = 10
"""How many nested causes :func:`nothing_was_sent` looks through; real chains are three or four long."""


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """The seconds a ``Retry-After`` header value asks to wait, or None if absent or unreadable.

    The value is delta-seconds (``"30"``; a decimal such as ``"2.5"`` is accepted too) or an HTTP
    date (``"Wed, 25 Nov 2026 09:31:05 GMT"``), counted from ``now`` (an aware datetime; the
    current UTC time by default, a parameter so that tests need not read the clock). A negative
    number or a date in the past means "retry now": 0.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        return _seconds_until_http_date(text, now)
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _seconds_until_http_date(text: str, now: datetime | None) -> float | None:
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):  # each has been raised for some malformed date
        return None
    if when.tzinfo is None:  # "-0000" and obsolete zone names: RFC 5322 reads them as UTC
        when = when.replace(tzinfo=timezone.utc)
    current = now if now is not None else datetime.now(timezone.utc)
    return max(0.0, (when - current).total_seconds())


def nothing_was_sent(error: requests.RequestException) -> bool:
    """Whether the request failed before any byte of it could reach the CRM.

    True for a connect timeout and for a connection that could not be made (refused, DNS failure),
    which urllib3 reports as ``NewConnectionError`` or ``ConnectTimeoutError`` somewhere in the
    chain of causes that ``requests`` wraps (its first argument, a ``MaxRetryError``'s ``reason``,
    ``__cause__`` or ``__context__``). False for anything else, such as a read timeout or a
    connection dropped mid-exchange: the request may then have been received and acted on.
    """
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return True
    if not isinstance(error, requests.exceptions.ConnectionError):
        return False
    seen: list[BaseException] = []
    pending: list[object] = [error]
    while pending and len(seen) < _MAX_CAUSES:
        cause = pending.pop()
        if not isinstance(cause, BaseException) or any(cause is known for known in seen):
            continue
        if isinstance(cause, (NewConnectionError, ConnectTimeoutError)):
            return True
        seen.append(cause)
        pending += [cause.__context__, cause.__cause__, getattr(cause, "reason", None), *cause.args[:1]]
    return False


def error_for_no_answer(
    error: requests.RequestException, *, crm: str, action: str, may_have_taken_effect: bool
) -> CrmError:
    """The crmhub error for a request to ``crm`` that got no HTTP answer.

    :param crm: the CRM's name for the message (``"Zendesk"``).
    :param action: what was being done, for the message (``"create a ticket"``).
    :param may_have_taken_effect: the request is not safe to repeat blindly (a create, a note):
        once it may have been sent, a lost answer leaves its effect unknown, and the dispatcher
        must reconcile before retrying. For reads and idempotent writes, pass False.

    The message names the exception class only: its text can carry the URL and its query.
    """
    said = f"({action}, {type(error).__name__})"
    if isinstance(error, _INVALID_URL):
        return PermanentCrmError(f"the {crm} URL is not valid {said}; check base_url in the plugin's settings")
    if nothing_was_sent(error):
        return TransientCrmError(f"{crm} could not be reached {said}; nothing was sent")
    if may_have_taken_effect:
        return UnknownOutcomeError(f"no answer from {crm} {said}; it may or may not have been done")
    return TransientCrmError(f"no answer from {crm} {said}")


def json_or_none(response: requests.Response) -> Any:
    """The response body parsed as JSON, or None when it is not JSON (an HTML error page, empty)."""
    try:
        return response.json()
    except ValueError:
        return None


def one_line(text: str, *, limit: int = ERROR_TEXT_LIMIT, secrets: Iterable[str | None] = ()) -> str:
    """``text`` made fit for an error message: each secret replaced by ``***``, every run of white
    space (line breaks included) folded to one space, and cut to ``limit`` characters.

    Secrets are masked before the cut, so that a secret at the edge cannot leave a readable prefix.
    Empty or None secrets are ignored. Returns ``""`` for blank text: callers add their own
    "no details".
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, _SECRET_MASK)
    return " ".join(text.split())[:limit]
