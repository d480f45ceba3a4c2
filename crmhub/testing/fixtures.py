"""The recorded-fixture format: one JSON file per scenario, a list of request/response exchanges.

``load_fixture`` reads and validates a file so that a typo in a fixture fails loudly with the file
and the key, instead of turning into a confusing "no exchange matched" during replay.

Format::

    {"doc": "vendor doc page", "description": "...",
     "exchanges": [{"request": {"method", "url", "query"?, "json"?, "form"?, "headers"?},
                    "response": {"status", "headers"?, "json"? | "body"?} | {"timeout": true}}]}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
REQUEST_KEYS = {"method", "url", "query", "json", "form", "headers"}
RESPONSE_KEYS = {"status", "headers", "json", "body", "timeout"}
TOP_KEYS = {"doc", "description", "provenance", "exchanges"}


class FixtureError(ValueError):
    """A fixture file or mapping does not follow the format; the message names where."""


def _string_map(value: Any, where: str, allow_lists: bool = False) -> list[str]:
    if not isinstance(value, Mapping):
        return [f"{where}: expected an object"]
    problems = []
    for key, item in value.items():
        ok = isinstance(item, str) or (
            allow_lists and isinstance(item, list) and all(isinstance(v, str) for v in item)
        )
        if not ok:
            expected = "a string or a list of strings" if allow_lists else "a string"
            problems.append(f"{where}.{key}: expected {expected}")
    return problems


def _request_problems(request: Any, where: str) -> list[str]:
    if not isinstance(request, Mapping):
        return [f"{where}: expected an object"]
    problems = [f"{where}.{key}: unknown key" for key in sorted(set(request) - REQUEST_KEYS)]
    method = request.get("method")
    if not isinstance(method, str) or method.upper() not in METHODS:
        problems.append(f"{where}.method: expected one of {', '.join(METHODS)}")
    url = request.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        problems.append(f"{where}.url: expected an absolute http(s) URL")
    elif "?" in url or "#" in url:
        problems.append(f"{where}.url: must not carry a query string or fragment (use 'query')")
    if "query" in request:
        problems += _string_map(request["query"], f"{where}.query", allow_lists=True)
    if "form" in request:
        problems += _string_map(request["form"], f"{where}.form", allow_lists=True)
    if "headers" in request:
        problems += _string_map(request["headers"], f"{where}.headers")
    if "json" in request and "form" in request:
        problems.append(f"{where}: 'json' and 'form' cannot both be given")
    return problems


def _response_problems(response: Any, where: str) -> list[str]:
    if not isinstance(response, Mapping):
        return [f"{where}: expected an object"]
    problems = [f"{where}.{key}: unknown key" for key in sorted(set(response) - RESPONSE_KEYS)]
    if "timeout" in response:
        if response["timeout"] is not True:
            problems.append(f"{where}.timeout: must be true when given")
        if set(response) - {"timeout"}:
            problems.append(f"{where}: a timeout response has no other keys")
        return problems
    status = response.get("status")
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        problems.append(f"{where}.status: expected an HTTP status code")
    if "headers" in response:
        problems += _string_map(response["headers"], f"{where}.headers")
    if "json" in response and "body" in response:
        problems.append(f"{where}: 'json' and 'body' cannot both be given")
    if "body" in response and not isinstance(response["body"], str):
        problems.append(f"{where}.body: expected a string")
    return problems


def validate_fixture(fixture: Any, source: str = "<fixture>") -> dict[str, Any]:
    """Return ``fixture`` as a dict if it follows the format; raise :class:`FixtureError` listing
    every problem otherwise."""
    if not isinstance(fixture, Mapping):
        raise FixtureError(f"{source}: expected a JSON object")
    problems = [f"{key}: unknown key" for key in sorted(set(fixture) - TOP_KEYS)]
    if not isinstance(fixture.get("doc"), str) or not fixture["doc"].strip():
        problems.append("doc: expected the vendor documentation page this fixture follows")
    if "description" in fixture and not isinstance(fixture["description"], str):
        problems.append("description: expected a string")
    exchanges = fixture.get("exchanges")
    if not isinstance(exchanges, list) or not exchanges:
        problems.append("exchanges: expected a non-empty list")
        exchanges = []
    for index, exchange in enumerate(exchanges):
        where = f"exchanges[{index}]"
        if not isinstance(exchange, Mapping) or set(exchange) != {"request", "response"}:
            problems.append(f"{where}: expected exactly the keys 'request' and 'response'")
            continue
        problems += _request_problems(exchange["request"], f"{where}.request")
        problems += _response_problems(exchange["response"], f"{where}.response")
    if problems:
        raise FixtureError(f"{source}: invalid fixture:\n" + "\n".join(f"  - {p}" for p in problems))
    return dict(fixture)


def load_fixture(path: str | Path) -> dict[str, Any]:
    """Read and validate one fixture file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FixtureError(f"{path}: fixture file not found") from None
    except json.JSONDecodeError as error:
        raise FixtureError(f"{path}: not valid JSON: {error}") from None
    return validate_fixture(data, str(path))


def dump_fixture(fixture: Mapping[str, Any], path: str | Path) -> Path:
    """Validate and write a fixture file (stable key order and indentation, for readable diffs)."""
    path = Path(path)
    validate_fixture(fixture, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(fixture, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def exchange(
    method: str, url: str, *, status: int = 200, json: Any = None, body: Any = None,
    query: Mapping[str, Any] | None = None, timeout: bool = False,
) -> dict[str, Any]:
    """One exchange, for fixtures written inline in a test: ``body`` is the request's JSON body,
    ``json`` the response's (``{}`` when not given); ``timeout`` makes the response a timeout."""
    request: dict[str, Any] = {"method": method, "url": url}
    if body is not None:
        request["json"] = body
    if query is not None:
        request["query"] = dict(query)
    response: dict[str, Any] = {"timeout": True} if timeout else {"status": status, "json": {} if json is None else json}
    return {"request": request, "response": response}


def fixture(doc: str, *exchanges: Mapping[str, Any]) -> dict[str, Any]:
    """A fixture of ``exchanges``, saying which vendor page (``doc``) they follow; validated."""
    return validate_fixture({"doc": doc, "exchanges": list(exchanges)})
