"""The HTTP side of the plugin: one ``requests.Session`` per client, Freshdesk's basic auth, JSON
in and out, list paging, and every failure turned into a crmhub error (:mod:`.failures`).

Freshdesk authenticates an API key as the basic-auth user name with any password (``key:X``).
No call is made before the first operation, and none is ever retried here: a rate limit or an
outage is raised as :class:`~crmhub.core.errors.TransientCrmError` for the dispatcher to retry.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import requests

from crmhub_freshdesk.failures import error_for_exception, error_for_response, malformed
from crmhub_freshdesk.settings import FreshdeskSettings

API_PREFIX = "/api/v2"
PER_PAGE = 100
"""The largest page Freshdesk serves on list endpoints."""


def _user_agent() -> str:
    try:
        return f"crmhub-freshdesk/{version('crmhub-freshdesk')}"
    except PackageNotFoundError:
        return "crmhub-freshdesk"


class FreshdeskHttp:
    """Authenticated JSON requests to one Freshdesk helpdesk (``settings.base_url``)."""

    def __init__(self, settings: FreshdeskSettings):
        self.base_url = settings.base_url
        self.timeout = settings.timeout_seconds
        self._session = requests.Session()
        self._session.auth = (settings.api_key, "X")
        self._session.headers.update({"Accept": "application/json", "User-Agent": _user_agent()})

    def __repr__(self) -> str:
        return f"FreshdeskHttp(base_url={self.base_url!r})"

    def url(self, path: str) -> str:
        return f"{self.base_url}{API_PREFIX}{path}"

    def call(
        self, method: str, path: str, action: str, *, params: Mapping[str, str] | None = None,
        json: Any = None, allow: frozenset[int] = frozenset(),
    ) -> requests.Response:
        """Send one request; return the response if its status is below 400 or in ``allow``, else
        raise the crmhub error for it. ``action`` says in words what was being done, for messages."""
        is_write = method != "GET"
        try:
            response = self._session.request(
                method, self.url(path), params=dict(params) if params else None, json=json, timeout=self.timeout
            )
        except requests.RequestException as error:
            raise error_for_exception(error, action, is_write) from None
        if response.status_code >= 400 and response.status_code not in allow:
            raise error_for_response(response, action, is_write)
        return response

    def call_json(
        self, method: str, path: str, action: str, expect: type, *, params: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> Any:
        """:meth:`call`, then the body parsed as JSON of type ``expect`` (dict or list)."""
        response = self.call(method, path, action, params=params, json=json)
        return body_of(response, action, expect, is_write=method != "GET")

    def pages(self, path: str, action: str, params: Mapping[str, str], max_pages: int) -> Iterator[list[Any]]:
        """The pages of a list endpoint (``per_page`` 100), up to ``max_pages``, while Freshdesk's
        ``Link: <...>; rel="next"`` header says there is another. The next page is asked for by
        number against ``base_url`` (not the link's host, which would bypass a configured proxy).
        Each page is requested only when the previous one has been consumed, so a caller that has
        what it needs stops early."""
        page = 1
        while True:
            query = {**params, "per_page": str(PER_PAGE)}
            if page > 1:
                query["page"] = str(page)
            response = self.call("GET", path, action, params=query)
            yield body_of(response, action, list, is_write=False)
            if "next" not in response.links or page >= max_pages:
                return
            page += 1


def body_of(response: requests.Response, action: str, expect: type, is_write: bool) -> Any:
    """The JSON body, checked to be a ``expect`` (dict or list); a crmhub error otherwise."""
    try:
        body = response.json()
    except ValueError:
        raise malformed(action, f"HTTP {response.status_code} with a body that is not JSON", is_write) from None
    if not isinstance(body, expect):
        raise malformed(action, f"expected a JSON {'object' if expect is dict else 'array'}", is_write)
    return body
