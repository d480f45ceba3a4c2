"""The REST transport: authenticated requests, the one token refresh, SOQL paging, error mapping.

Every call goes through :meth:`SalesforceApi.request`, which adds the bearer token, retries once
with a fresh token when Salesforce says the session expired (``401 INVALID_SESSION_ID``; the only
internal retry crmhub allows a plugin), logs the org's API usage from ``Sforce-Limit-Info`` at
debug level, and turns every failure into a crmhub error. Nothing here sleeps or loops on errors:
retries belong to the dispatcher.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import requests

from crmhub.core.errors import PermanentCrmError, UnknownOutcomeError
from crmhub_salesforce.auth import AccessToken, TokenProvider
from crmhub_salesforce.config import SalesforceConfig
from crmhub_salesforce.errors import error_for_exception, error_for_response, is_invalid_session

log = logging.getLogger("crmhub.salesforce")

MAX_QUERY_PAGES = 50
"""A bound on ``nextRecordsUrl`` pages per query (2,000 records each by default)."""
AUTO_ASSIGN_OFF = {"Sforce-Auto-Assign": "FALSE"}
"""Keeps the org's assignment rules from moving a record crmhub creates or reopens."""


class SalesforceApi:
    """Authenticated REST calls against one org, over one connection-reusing session."""

    def __init__(self, config: SalesforceConfig, session: requests.Session | None = None):
        self.session = session or requests.Session()
        self.tokens = TokenProvider(config.auth, self.session)
        self.data_path = f"/services/data/{config.api_version}"
        self.timeout = config.auth.timeout_seconds

    def __repr__(self) -> str:
        return f"SalesforceApi({self.tokens!r}, data_path={self.data_path!r})"

    def instance_url(self) -> str:
        """The org's instance URL (fetching the token first if need be)."""
        return self.tokens.current().instance_url

    def url(self, token: AccessToken, path: str) -> str:
        """``sobjects/Case`` → the versioned data URL; ``/services/...`` (a ``nextRecordsUrl``) →
        on the instance as given."""
        if path.startswith("/"):
            return token.instance_url + path
        return f"{token.instance_url}{self.data_path}/{path}"

    def request(
        self, method: str, path: str, *, action: str, params: Mapping[str, str] | None = None,
        json: Any = None, headers: Mapping[str, str] | None = None, may_have_applied: bool = False,
    ) -> requests.Response:
        """Send one call; return the response if it succeeded (2xx), else raise the crmhub error.

        :param action: what the call does, in words, for error messages (``"create Case"``).
        :param may_have_applied: True for writes that are not idempotent: a timeout or a server
            error then means "unknown outcome" rather than "nothing happened".
        """
        token = self.tokens.current()
        response = self._send(method, path, token, action, params, json, headers, may_have_applied)
        if is_invalid_session(response):
            log.info("Salesforce session expired or invalid; requesting a new access token")
            token = self.tokens.refresh(token)
            response = self._send(method, path, token, action, params, json, headers, may_have_applied)
        limit_info = response.headers.get("Sforce-Limit-Info")
        if limit_info:
            log.debug("Salesforce %s %s: HTTP %s, %s", method, path, response.status_code, limit_info)
        if not 200 <= response.status_code < 300:
            raise error_for_response(response, action, may_have_applied=may_have_applied)
        return response

    def _send(
        self, method: str, path: str, token: AccessToken, action: str, params: Mapping[str, str] | None,
        json: Any, headers: Mapping[str, str] | None, may_have_applied: bool,
    ) -> requests.Response:
        all_headers = {"Authorization": f"Bearer {token.value}", "Accept": "application/json", **(headers or {})}
        try:
            return self.session.request(
                method, self.url(token, path), params=params, json=json, headers=all_headers, timeout=self.timeout
            )
        except requests.RequestException as error:
            raise error_for_exception(error, action, may_have_applied=may_have_applied) from None

    def query(self, soql: str, *, action: str) -> list[dict[str, Any]]:
        """Run a SOQL query and return every record, following ``nextRecordsUrl`` pages."""
        return self._all_pages(self.request("GET", "query", params={"q": soql}, action=action), action)

    def query_more(self, next_records_url: str, *, action: str) -> list[dict[str, Any]]:
        """The records from a ``nextRecordsUrl`` on (a subquery's further child records, say)."""
        return self._all_pages(self.request("GET", next_records_url, action=action), action)

    def _all_pages(self, response: requests.Response, action: str) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        for _ in range(MAX_QUERY_PAGES):
            batch, next_url = query_page(json_object(response, action), action)
            records.extend(batch)
            if next_url is None:
                return records
            response = self.request("GET", next_url, action=action)
        log.warning("stopped reading %s after %d pages of results", action, MAX_QUERY_PAGES)
        return records


def query_page(page: Any, action: str) -> tuple[list[dict[str, Any]], str | None]:
    """One SOQL result (``{"totalSize", "done", "records", "nextRecordsUrl"}``, at the top or nested
    as a subquery's): its records, and the URL of the next page while ``done`` is false."""
    batch = page.get("records") if isinstance(page, dict) else None
    done = page.get("done") if isinstance(page, dict) else None
    if not isinstance(batch, list) or not all(isinstance(r, dict) for r in batch) or not isinstance(done, bool):
        raise PermanentCrmError(f"Salesforce's answer to {action} is not a SOQL query result")
    next_url = page.get("nextRecordsUrl")
    if done or not next_url:
        return batch, None
    if not isinstance(next_url, str):
        raise PermanentCrmError(f"Salesforce's answer to {action} has a malformed nextRecordsUrl")
    return batch, next_url


def json_object(response: requests.Response, action: str) -> dict[str, Any]:
    """The response body as a JSON object, or :class:`PermanentCrmError` saying it is not one."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise PermanentCrmError(
            f"Salesforce's answer to {action} is not the JSON object expected (HTTP {response.status_code})"
        )
    return body


def record_id_of(body: Any, action: str) -> str:
    """The ``id`` of a successful create or upsert result (``{"id", "success", "errors"}``), whole or
    from a composite subrequest. The write succeeded (2xx), so the record most likely exists even
    when the answer cannot be read: that is an unknown outcome, which the dispatcher reconciles by
    session id."""
    record_id = body.get("id") if isinstance(body, dict) else None
    if not isinstance(record_id, str) or not record_id or body.get("success") is False:
        raise UnknownOutcomeError(f"Salesforce's answer to {action} carries no record id; it may have been created")
    return record_id
