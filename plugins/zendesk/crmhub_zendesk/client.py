"""The HTTP client for Zendesk Support API v2: one ``requests.Session`` (connection reuse), token
auth, the error mapping of :mod:`crmhub_zendesk.http_errors` and :mod:`crmhub.http`, and the small
in-process caches that save API calls (requesters, tickets last seen, the per-ticket update counter)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import requests

from crmhub.core.errors import PermanentCrmError
from crmhub.http import error_for_no_answer
from crmhub_zendesk.http_errors import check_response
from crmhub_zendesk.limits import UpdateLimiter
from crmhub_zendesk.settings import ZendeskSettings

TICKET_CACHE_SIZE = 1000


class TicketCache:
    """The tickets most recently read or written, by id (bounded, thread-safe).

    An append or reopen rewrites the tag list (Zendesk's single-ticket update replaces tags), so it
    needs the current tags and ``updated_at``; the lookup that found the ticket a moment before
    already had them. The update is sent with ``safe_update``, so a stale entry makes Zendesk
    answer 409 rather than lose a tag.
    """

    def __init__(self, size: int = TICKET_CACHE_SIZE):
        self._size = size
        self._tickets: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, ticket: Mapping[str, Any]) -> None:
        with self._lock:
            key = str(ticket["id"])
            self._tickets[key] = dict(ticket)
            self._tickets.move_to_end(key)
            while len(self._tickets) > self._size:
                self._tickets.popitem(last=False)

    def get(self, ticket_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._tickets.get(str(ticket_id))

    def forget(self, ticket_id: str) -> None:
        with self._lock:
            self._tickets.pop(str(ticket_id), None)


class RequesterCache:
    """End-user key → Zendesk user id (None: not found), each answer kept ``ttl`` seconds.

    ``find_open_record`` and ``create_record`` run back to back for a new session; the cache keeps
    the second from repeating the first one's lookups. A stale "not found" is harmless: users are
    created with ``create_or_update``, which matches an existing user by external id or email.
    """

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic):
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[float, int | None]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[bool, int | None]:
        """``(known, user_id)``."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or self._clock() - entry[0] > self._ttl:
                return False, None
            return True, entry[1]

    def put(self, key: str, user_id: int | None) -> None:
        with self._lock:
            self._entries[key] = (self._clock(), user_id)


class ZendeskClient:
    """What the hooks receive as ``client``. Makes no call until a hook needs one."""

    def __init__(self, settings: ZendeskSettings, clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.root_url = settings.root_url
        self.api_url = f"{self.root_url}/api/v2"
        self.timeout = settings.timeout_seconds
        self.tickets = TicketCache()
        self.requesters = RequesterCache(settings.user_cache_seconds, clock)
        self.updates = UpdateLimiter(settings.max_updates_per_ticket, settings.update_window_seconds, clock)
        self._session = requests.Session()
        self._session.auth = (f"{settings.email}/token", settings.api_token)
        self._session.headers.update({"Accept": "application/json", "User-Agent": "crmhub-zendesk/0.1"})

    def __repr__(self) -> str:
        return f"ZendeskClient({self.root_url!r})"

    def agent_url(self, ticket_id: Any) -> str:
        """Where an agent opens the ticket."""
        return f"{self.root_url}/agent/tickets/{ticket_id}"

    def get(self, path_or_url: str, params: Mapping[str, str] | None = None, action: str = "") -> dict[str, Any]:
        return self._request("GET", path_or_url, action or f"GET {path_or_url}", params=params)

    def post(self, path: str, body: Mapping[str, Any], action: str, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
        return self._request("POST", path, action, body=body, headers=headers)

    def put(self, path: str, body: Mapping[str, Any], action: str) -> dict[str, Any]:
        return self._request("PUT", path, action, body=body)

    def _request(
        self, method: str, path_or_url: str, action: str, *, params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        url = path_or_url if path_or_url.startswith(("http://", "https://")) else self.api_url + path_or_url
        write = method != "GET"
        try:
            response = self._session.request(
                method, url, params=params, json=body, headers=dict(headers or {}), timeout=self.timeout
            )
        except requests.exceptions.RequestException as error:
            raise error_for_no_answer(error, crm="Zendesk", action=action, may_have_taken_effect=write) from None
        check_response(response, action, write)
        try:
            data = response.json()
        except ValueError:
            raise PermanentCrmError(
                f"Zendesk {action} answered HTTP {response.status_code} with a body that is not JSON"
            ) from None
        if not isinstance(data, dict):
            raise PermanentCrmError(f"Zendesk {action} answered with JSON that is not an object")
        return data
