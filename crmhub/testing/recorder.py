"""Recording live CRM traffic into the fixture format, with every secret scrubbed on capture.

Used by plugin authors against a sandbox account to make or refresh fixtures::

    with Recorder(secret_env=["ZENDESK_API_TOKEN"],
                  tenant_hosts={"mycompany.zendesk.com": "acme.zendesk.com"}) as recorder:
        ...  # drive the plugin; credentials come from the environment
    recorder.save("tests/fixtures/suite/create_record.json", doc="https://developer...")

Scrubbing happens as each exchange is captured, before anything is kept or written:
``Authorization`` and cookie headers are dropped; secret-looking headers, query parameters, form
fields and JSON keys (:data:`crmhub.testing.credentials.SECRET_KEY`) get ``REDACTED``; the values
of the named environment variables are replaced wherever they appear; tenant host names (and any
other strings given in ``tenant_hosts``) are replaced everywhere. Only the request headers named in
``match_headers`` are kept, as replay requirements. What is saved passes
:func:`crmhub.testing.scan_for_credentials`.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit, urlunsplit

import requests
import requests.adapters

from crmhub.testing.credentials import SECRET_KEY
from crmhub.testing.fixtures import dump_fixture, validate_fixture

REDACTED = "REDACTED"
DROPPED_HEADERS = {"authorization", "proxy-authorization", "cookie", "set-cookie"}
TRANSPORT_HEADERS = {"content-encoding", "transfer-encoding", "content-length", "connection", "keep-alive"}
"""Response headers that describe the wire, not the payload: replaying them would break decoding."""


class Recorder:
    """Context manager capturing every ``requests`` exchange made inside it, scrubbed."""

    def __init__(
        self,
        *,
        secret_env: Iterable[str] = (),
        tenant_hosts: Mapping[str, str] | None = None,
        match_headers: Iterable[str] = ("Idempotency-Key",),
        environ: Mapping[str, str] | None = None,
    ):
        environ = os.environ if environ is None else environ
        missing = [name for name in secret_env if not environ.get(name)]
        if missing:
            raise ValueError(f"environment variable(s) not set: {', '.join(missing)}")
        self._secrets = _secret_forms(environ[name] for name in secret_env)
        self._tenants = sorted((tenant_hosts or {}).items(), key=lambda item: -len(item[0]))
        self._match_headers = {name.lower() for name in match_headers}
        self.exchanges: list[dict[str, Any]] = []
        self._patch: Any = None

    def __repr__(self) -> str:
        return f"Recorder({len(self.exchanges)} exchanges)"

    # --- capture ----------------------------------------------------------------------------------

    def __enter__(self) -> "Recorder":
        original = requests.adapters.HTTPAdapter.send
        recorder = self

        def send(adapter: Any, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
            try:
                response = original(adapter, request, *args, **kwargs)
            except requests.exceptions.ReadTimeout:
                recorder.capture(request, None)
                raise
            recorder.capture(request, response)
            return response

        self._patch = mock.patch.object(requests.adapters.HTTPAdapter, "send", send)
        self._patch.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._patch.stop()

    def capture(self, request: requests.PreparedRequest, response: requests.Response | None) -> None:
        """Scrub and keep one exchange (``response`` None: the read timed out)."""
        self.exchanges.append({"request": self._request(request), "response": self._response(response)})

    # --- scrubbing --------------------------------------------------------------------------------

    def scrub_text(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        for real, stand_in in self._tenants:
            text = text.replace(real, stand_in)
        return text

    def scrub_json(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                self.scrub_text(str(key)): REDACTED if SECRET_KEY.search(str(key)) and isinstance(item, str)
                else self.scrub_json(item)
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [self.scrub_json(item) for item in value]
        if isinstance(value, str):
            return self.scrub_text(value)
        return value

    def _pairs(self, pairs: list[tuple[str, str]]) -> dict[str, str | list[str]]:
        scrubbed: dict[str, str | list[str]] = {}
        for key, value in pairs:
            value = REDACTED if SECRET_KEY.search(key) else self.scrub_text(value)
            if key in scrubbed:
                previous = scrubbed[key]
                scrubbed[key] = [*(previous if isinstance(previous, list) else [previous]), value]
            else:
                scrubbed[key] = value
        return scrubbed

    def scrub_url(self, url: str) -> tuple[str, dict[str, str | list[str]]]:
        """The URL without its query (hosts replaced) and the scrubbed query parameters."""
        parts = urlsplit(url)
        query = self._pairs(parse_qsl(parts.query, keep_blank_values=True))
        return self.scrub_text(urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))), query

    def scrub_headers(self, headers: Mapping[str, str], keep: set[str] | None = None) -> dict[str, str]:
        kept = {}
        for name, value in headers.items():
            lowered = name.lower()
            if lowered in DROPPED_HEADERS or (keep is not None and lowered not in keep):
                continue
            kept[name] = REDACTED if SECRET_KEY.search(name) else self.scrub_text(value)
        return kept

    def _request(self, request: requests.PreparedRequest) -> dict[str, Any]:
        url, query = self.scrub_url(request.url or "")
        recorded: dict[str, Any] = {"method": (request.method or "GET").upper(), "url": url}
        if query:
            recorded["query"] = query
        body = request.body.decode("utf-8", "replace") if isinstance(request.body, bytes) else request.body
        content_type = request.headers.get("Content-Type", "")
        if isinstance(body, str) and body:
            if "json" in content_type:
                try:
                    recorded["json"] = self.scrub_json(json.loads(body))
                except ValueError:
                    pass  # not JSON after all: no body requirement to record
            elif "x-www-form-urlencoded" in content_type:
                recorded["form"] = self._pairs(parse_qsl(body, keep_blank_values=True))
        headers = self.scrub_headers(request.headers, keep=self._match_headers)
        if headers:
            recorded["headers"] = headers
        return recorded

    def _response(self, response: requests.Response | None) -> dict[str, Any]:
        if response is None:
            return {"timeout": True}
        headers = {
            name: value for name, value in self.scrub_headers(response.headers).items()
            if name.lower() not in TRANSPORT_HEADERS
        }
        recorded: dict[str, Any] = {"status": response.status_code}
        if headers:
            recorded["headers"] = headers
        try:
            recorded["json"] = self.scrub_json(response.json())
        except ValueError:
            if response.text:
                recorded["body"] = self.scrub_text(response.text)
        return recorded

    # --- output -----------------------------------------------------------------------------------

    def fixture(self, doc: str, description: str = "") -> dict[str, Any]:
        """The exchanges captured so far, as a validated fixture."""
        fixture = {"doc": doc, "description": description, "exchanges": list(self.exchanges)}
        return validate_fixture(fixture, "recording")

    def save(self, path: str | Path, doc: str, description: str = "") -> Path:
        return dump_fixture(self.fixture(doc, description), path)


def _secret_forms(values: Iterable[str]) -> list[str]:
    """Each secret as it may appear on the wire: plain, URL-encoded and base64-encoded."""
    forms: set[str] = set()
    for value in values:
        forms.update({value, quote(value, safe=""), quote_plus(value)})
        forms.add(base64.b64encode(value.encode()).decode().rstrip("="))
    return sorted((form for form in forms if form), key=len, reverse=True)
