"""Finding credentials in files: the check every plugin runs over its recorded fixtures.

What counts as a credential (SPEC section 9: no token, password, API key or Authorization header
in a recorded fixture): an ``Authorization``/cookie header with a value, a secret-looking key
(``api_token``, ``access_token``, ``password``, ``client_secret``...) with a real-looking value in
JSON or in a URL's query string, and values whose shape gives them away (JWTs, Salesforce session
ids, private keys, cloud and chat-platform keys). Obvious placeholders (``REDACTED``, ``***``,
``test-token``, ``<token>``) are allowed, so fixtures can show where a secret goes.

:mod:`crmhub.testing.recorder` scrubs with the same patterns, so what it writes passes this scan.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

SECRET_KEY = re.compile(
    r"token(?!_type)|secret|passw(or)?d|api[_-]?key|authorization|cookie|credential|private[_-]?key|"
    r"^(assertion|signature)$",
    re.IGNORECASE,
)
"""Names (headers, JSON keys, query parameters, form fields) whose value is a secret."""

PLACEHOLDER = re.compile(
    r"^$|redacted|\*\*\*|placeholder|dummy|fake|example|test|sample|x{4,}|^<[^<>]*>$|^\$\{[^}]*\}$|^env:",
    re.IGNORECASE,
)
"""Values that are visibly not real secrets."""

_SHAPES = (
    ("a JSON Web Token", re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("a Salesforce session id", re.compile(r"\b00D[A-Za-z0-9]{12,15}![A-Za-z0-9._]{20,}")),
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("an AWS access key", re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b")),
    ("a Slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}")),
)
_AUTH_VALUE = re.compile(r"\b(Basic|Bearer|Token|OAuth)\s+([A-Za-z0-9._~+/=-]{8,})")
_QUERY_PARAM = re.compile(r"[?&]([A-Za-z0-9_.-]+)=([^&#\s\"'<>]+)")
_KEY_VALUE_TEXT = re.compile(r"([A-Za-z0-9_.-]+)\s*[:=]\s*[\"']?([^\s\"',;&]+)")


def is_placeholder(value: str) -> bool:
    return bool(PLACEHOLDER.search(value.strip()))


def _masked(value: str) -> str:
    return value[:3] + "…" if len(value) > 6 else "…"


def _json_findings(value: Any, where: str) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{where}.{key}" if where else str(key)
            if SECRET_KEY.search(str(key)) and isinstance(item, str) and not is_placeholder(item):
                yield f"{here} holds a secret-looking value ({_masked(item)})"
            else:
                yield from _json_findings(item, here)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_findings(item, f"{where}[{index}]")
    elif isinstance(value, str):
        yield from _text_findings(value, where)


def _text_findings(text: str, where: str) -> Iterator[str]:
    at = f" in {where}" if where else ""
    for label, pattern in _SHAPES:
        for match in pattern.finditer(text):
            yield f"{label}{at} ({_masked(match.group(0))})"
    for match in _AUTH_VALUE.finditer(text):
        if not is_placeholder(match.group(2)):
            yield f"an Authorization value{at} ({match.group(1)} {_masked(match.group(2))})"
    for match in _QUERY_PARAM.finditer(text):
        name, value = match.groups()
        if SECRET_KEY.search(name) and not is_placeholder(value):
            yield f"query parameter {name}{at} holds a secret-looking value ({_masked(value)})"


def _plain_text_findings(text: str) -> Iterator[str]:
    yield from _text_findings(text, "")
    for match in _KEY_VALUE_TEXT.finditer(text):
        name, value = match.groups()
        if SECRET_KEY.search(name) and not is_placeholder(value) and len(value) >= 6:
            yield f"{name} holds a secret-looking value ({_masked(value)})"


def findings_in_text(text: str) -> list[str]:
    """What looks like a credential in one file's text (JSON files are walked key by key)."""
    try:
        data = json.loads(text)
    except ValueError:
        found = _plain_text_findings(text)
    else:
        found = _json_findings(data, "")
    return list(dict.fromkeys(found))


def scan_for_credentials(paths: Iterable[Path | str]) -> list[str]:
    """``"FILE: what looks like a credential"`` for everything found; ``[]`` when clean.

    The findings show at most the first characters of a value, so a failing test does not print
    the secret it found.
    """
    results = []
    for path in paths:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            results.append(f"{path}: not a text file (cannot be checked for credentials)")
            continue
        results.extend(f"{path}: {finding}" for finding in findings_in_text(text))
    return results
