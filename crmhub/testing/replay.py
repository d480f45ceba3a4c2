"""Strict replay of recorded fixtures: the plugin's real ``requests`` calls are served by ``responses``.

Each request is served by the first not-yet-used exchange whose method, URL, query, body and
headers match. Strict both ways, so that a fixture documents the plugin's traffic exactly:

* a request that matches no unused exchange fails the test, with the request and what each
  remaining exchange expected instead (raised at the call, and again when the block ends, in case
  the plugin swallowed the first error);
* an exchange never used fails the test when the block ends.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
import responses

from crmhub.testing.fixtures import load_fixture, validate_fixture

_ANY_URL = re.compile(r".*")
_NO_BODY = object()


class UnexpectedRequest(AssertionError):
    """A request no remaining exchange expected. An AssertionError so that a plugin catching
    ``requests`` errors does not turn it into a CRM error."""


class UnusedExchanges(AssertionError):
    """Exchanges the fixture expected were never requested."""


Call = tuple[str, str, dict[str, Any], Any, dict[str, str]]


def _query(url: str) -> dict[str, str | list[str]]:
    parsed = parse_qs(urlsplit(url).query, keep_blank_values=True)
    return {key: values[0] if len(values) == 1 else values for key, values in parsed.items()}


def _base_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _body_text(body: Any) -> str | None:
    if body is None:
        return None
    if isinstance(body, bytes):
        return body.decode("utf-8", errors="replace")
    if isinstance(body, str):
        return body
    return None  # a streamed body: not inspected


def _json_body(text: str | None) -> Any:
    if not text:
        return _NO_BODY
    try:
        return json.loads(text)
    except ValueError:
        return _NO_BODY


def _form_body(text: str | None) -> dict[str, str | list[str]] | None:
    if text is None:
        return None
    parsed = parse_qs(text, keep_blank_values=True)
    return {key: values[0] if len(values) == 1 else values for key, values in parsed.items()}


@dataclass
class _Sent:
    method: str
    url: str
    query: dict[str, Any]
    json: Any
    form: dict[str, Any] | None
    headers: dict[str, str]

    def describe(self) -> str:
        lines = [f"{self.method} {self.url}"]
        if self.query:
            lines.append(f"  query: {json.dumps(self.query, sort_keys=True)}")
        if self.json is not _NO_BODY:
            lines.append(f"  json: {json.dumps(self.json, sort_keys=True)}")
        elif self.form:
            lines.append(f"  form: {json.dumps(self.form, sort_keys=True)}")
        return "\n".join(lines)


def _mismatches(expected: Mapping[str, Any], sent: _Sent) -> list[str]:
    """Why ``sent`` does not fit the exchange's request (empty when it does)."""
    problems = []
    if expected["method"].upper() != sent.method:
        problems.append(f"method {expected['method'].upper()} expected")
    if expected["url"] != sent.url:
        problems.append(f"url {expected['url']} expected")
    if "query" in expected and dict(expected["query"]) != sent.query:
        problems.append(f"query {json.dumps(expected['query'], sort_keys=True)} expected")
    if "json" in expected and (sent.json is _NO_BODY or expected["json"] != sent.json):
        problems.append(f"json body {json.dumps(expected['json'], sort_keys=True)} expected")
    if "form" in expected and dict(expected["form"]) != sent.form:
        problems.append(f"form body {json.dumps(expected['form'], sort_keys=True)} expected")
    sent_headers = {name.lower(): value for name, value in sent.headers.items()}
    for name, value in expected.get("headers", {}).items():
        if sent_headers.get(name.lower()) != value:
            problems.append(f"header {name}: {value} expected")
    return problems


@dataclass
class Replay:
    """What a replay saw. ``calls`` lists ``(method, url, query, json_body | None, headers)`` in order."""

    exchanges: list[dict[str, Any]]
    calls: list[Call] = field(default_factory=list)
    used: list[bool] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.used = [False] * len(self.exchanges)

    @property
    def remaining(self) -> list[dict[str, Any]]:
        return [exchange for exchange, used in zip(self.exchanges, self.used) if not used]

    def _serve(self, request: requests.PreparedRequest) -> Any:
        text = _body_text(request.body)
        sent = _Sent(
            method=(request.method or "GET").upper(),
            url=_base_url(request.url or ""),
            query=_query(request.url or ""),
            json=_json_body(text),
            form=_form_body(text) if _json_body(text) is _NO_BODY else None,
            headers=dict(request.headers),
        )
        self.calls.append(
            (sent.method, sent.url, sent.query, None if sent.json is _NO_BODY else sent.json, sent.headers)
        )
        for index, exchange in enumerate(self.exchanges):
            if not self.used[index] and not _mismatches(exchange["request"], sent):
                self.used[index] = True
                return _response(exchange["response"], request)
        message = self._unexpected_message(sent)
        self.unexpected.append(message)
        raise UnexpectedRequest(message)

    def _unexpected_message(self, sent: _Sent) -> str:
        lines = ["request matches no remaining exchange:", sent.describe()]
        remaining = [(i, e) for i, e in enumerate(self.exchanges) if not self.used[i]]
        if not remaining:
            lines.append("no exchanges remain (every recorded exchange was already used)")
        else:
            lines.append("remaining exchanges:")
            for index, exchange in remaining:
                req = exchange["request"]
                why = "; ".join(_mismatches(req, sent))
                lines.append(f"  [{index}] {req['method'].upper()} {req['url']}: {why}")
        return "\n".join(lines)

    def check(self) -> None:
        """Fail if a request was unexpected or an exchange was never used."""
        if self.unexpected:
            raise UnexpectedRequest("\n\n".join(self.unexpected))
        unused = [
            f"  [{i}] {e['request']['method'].upper()} {e['request']['url']}"
            for i, e in enumerate(self.exchanges)
            if not self.used[i]
        ]
        if unused:
            raise UnusedExchanges("exchanges never requested:\n" + "\n".join(unused))


def _response(response: Mapping[str, Any], request: requests.PreparedRequest) -> Any:
    if response.get("timeout"):
        return requests.exceptions.ReadTimeout("read timed out (recorded timeout)", request=request)
    headers = dict(response.get("headers", {}))
    if "json" in response:
        body = json.dumps(response["json"])
        if not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = "application/json; charset=utf-8"
    else:
        body = response.get("body", "")
    return (response["status"], headers, body)


def _exchanges(sources: tuple[str | Path | Mapping[str, Any], ...]) -> list[dict[str, Any]]:
    exchanges: list[dict[str, Any]] = []
    for source in sources:
        fixture = validate_fixture(source) if isinstance(source, Mapping) else load_fixture(source)
        exchanges.extend(fixture["exchanges"])
    return exchanges


@contextmanager
def replay(*sources: str | Path | Mapping[str, Any]) -> Iterator[Replay]:
    """Serve the exchanges of the given fixture files (or fixture dicts), in order, strictly."""
    state = Replay(_exchanges(sources))

    def callback(request: requests.PreparedRequest) -> Any:
        result = state._serve(request)
        if isinstance(result, Exception):
            raise result
        return result

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"):
            mock.add_callback(method, _ANY_URL, callback=callback, content_type=None)
        failed = False
        try:
            yield state
        except BaseException:
            failed = True
            if state.unexpected:  # the root cause: report it above the error it led to
                raise UnexpectedRequest("\n\n".join(state.unexpected))
            raise
        finally:
            if not failed:
                state.check()
