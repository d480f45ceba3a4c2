"""The HTTP client for Kustomer API v1: one ``requests.Session`` (connections reused), bearer auth,
and every failure turned into a crmhub error by :mod:`crmhub_kustomer.http_errors`.

It holds no secret in its ``repr`` and never puts the API key in an error message.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import requests

from crmhub.core.errors import PermanentCrmError, UnknownOutcomeError
from crmhub_kustomer import __version__
from crmhub_kustomer.customer_ids import CustomerIds
from crmhub_kustomer.handoffs import Handoffs
from crmhub_kustomer.http_errors import Clock, KustomerNotFound, error_for_exception, error_for_response
from crmhub_kustomer.settings import KustomerSettings
from crmhub_kustomer.tag_ids import TagIds

USER_AGENT = f"crmhub-kustomer/{__version__}"


def segment(value: str) -> str:
    """``value`` made safe as one path segment (``/v1/customers/email={segment}``)."""
    return quote(value, safe="@+")


class KustomerClient:
    """Talks to one Kustomer org. Safe to share between threads (``requests.Session`` is, for
    this use, and the memories below lock).

    What it remembers for the process: customer ids by end user, the org's tag ids by name, and
    the tag ids of the conversation ``find_open_record`` just chose (for the write that follows).
    """

    def __init__(self, settings: KustomerSettings, *, http: requests.Session | None = None, clock: Clock = time.time):
        self.settings = settings
        self.customer_ids = CustomerIds()
        self.tag_ids = TagIds()
        self.handoffs = Handoffs()
        self._clock = clock
        self._http = http or requests.Session()
        self._http.headers.update(
            {
                "Authorization": f"Bearer {settings.api_key}",
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            }
        )

    def __repr__(self) -> str:
        return f"KustomerClient(base_url={self.settings.base_url!r})"

    def get(self, path: str, action: str, query: Mapping[str, str] | None = None) -> dict[str, Any]:
        """GET a JSON object; any failure is transient or permanent (a read changes nothing)."""
        return self._send("GET", path, action, query=query, body=None, may_have_taken_effect=False)

    def get_if_exists(self, path: str, action: str) -> dict[str, Any] | None:
        """GET a JSON object, or None when Kustomer answers 404 (a lookup that found nothing)."""
        try:
            return self.get(path, action)
        except KustomerNotFound:
            return None

    def post(self, path: str, body: Any, action: str, *, safe_to_repeat: bool) -> dict[str, Any]:
        """POST JSON. ``safe_to_repeat`` is false for creates: a lost answer then leaves the effect
        unknown, and the dispatcher reconciles before retrying."""
        return self._send("POST", path, action, query=None, body=body, may_have_taken_effect=not safe_to_repeat)

    def patch(self, path: str, body: Any, action: str) -> dict[str, Any]:
        """PATCH JSON: setting attributes to given values is safe to repeat."""
        return self._send("PATCH", path, action, query=None, body=body, may_have_taken_effect=False)

    def _send(
        self, method: str, path: str, action: str, *, query: Mapping[str, str] | None, body: Any,
        may_have_taken_effect: bool,
    ) -> dict[str, Any]:
        url = self.settings.base_url + path
        try:
            response = self._http.request(
                method, url, params=query, json=body, timeout=self.settings.timeout_seconds
            )
        except requests.RequestException as error:
            raise error_for_exception(error, action, may_have_taken_effect=may_have_taken_effect) from None
        failure = error_for_response(
            response, action, may_have_taken_effect=may_have_taken_effect, secret=self.settings.api_key,
            clock=self._clock,
        )
        if failure is not None:
            raise failure
        return _json_object(response, action, may_have_taken_effect)


def _json_object(response: requests.Response, action: str, may_have_taken_effect: bool) -> dict[str, Any]:
    """The answer's JSON object. A 2xx that is not one means Kustomer or a proxy answered with
    something else: after a create, the create may still have happened."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        return body
    problem = f"Kustomer answered {response.status_code} to the request to {action} with a body that is not a JSON object"
    if may_have_taken_effect:
        raise UnknownOutcomeError(problem + "; the request may have taken effect")
    raise PermanentCrmError(problem)
