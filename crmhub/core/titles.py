"""Record title templates (SPEC section 4): ``{CALL_TYPE} {PHONE_NUMBER} {TIMESTAMP}``.

A template is parsed once, when settings load, so that a typo is a settings error and not a
surprise on the first record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

VARIABLES: tuple[str, ...] = (
    "CALL_TYPE", "CALL_ID", "MENU_PATH", "PHONE_NUMBER", "LANGUAGE", "TIMESTAMP"
)
DEFAULT_TITLE = "{CALL_TYPE} {CALL_ID}"
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_WHITESPACE = re.compile(r"\s+")


class TemplateError(ValueError):
    """The template has an unknown variable or an unbalanced brace."""


@dataclass(frozen=True)
class TitleValues:
    """The values a title may use; None renders empty."""

    call_type: str | None = None
    call_id: str | None = None
    menu_path: str | None = None
    phone_number: str | None = None
    language: str | None = None
    started_at: datetime | None = None


class TitleTemplate:
    """A parsed template: a list of literal strings and variable names."""

    def __init__(self, text: str):
        self.text = text
        self._parts = self._parse(text)
        self.variables = tuple(name for is_var, name in self._parts if is_var)

    @staticmethod
    def _parse(text: str) -> list[tuple[bool, str]]:
        parts: list[tuple[bool, str]] = []
        position = 0
        for match in _TOKEN.finditer(text):
            if match.start() > position:
                parts.append((False, text[position : match.start()]))
            token = match.group(0)
            if token in ("{{", "}}"):
                parts.append((False, token[0]))
            elif match.group(1) is None:
                raise TemplateError(
                    f"unbalanced {token!r} at position {match.start()} (write {token * 2} for a "
                    f"literal brace); valid variables: {', '.join(VARIABLES)}"
                )
            else:
                name = match.group(1).strip()
                if name not in VARIABLES:
                    raise TemplateError(
                        f"unknown variable {{{match.group(1)}}}; valid variables: {', '.join(VARIABLES)}"
                    )
                parts.append((True, name))
            position = match.end()
        if position < len(text):
            parts.append((False, text[position:]))
        return parts

    def render(self, values: TitleValues, timezone: str = "UTC", timestamp_format: str = "%Y-%m-%d %H:%M %Z") -> str:
        by_name = {
            "CALL_TYPE": values.call_type,
            "CALL_ID": values.call_id,
            "MENU_PATH": values.menu_path,
            "PHONE_NUMBER": values.phone_number,
            "LANGUAGE": values.language,
            "TIMESTAMP": (
                values.started_at.astimezone(ZoneInfo(timezone)).strftime(timestamp_format)
                if values.started_at
                else None
            ),
        }
        rendered = "".join((by_name[text] or "") if is_var else text for is_var, text in self._parts)
        return _WHITESPACE.sub(" ", rendered).strip()
