"""crmhub's plain-text descriptions as the HTML Freshdesk expects in ``description`` and note ``body``."""

from __future__ import annotations

from html import escape


def html_text(text: str) -> str:
    """Escape ``text`` and keep its line breaks (``<br>``); Freshdesk renders both fields as HTML."""
    return "<br>".join(escape(line) for line in text.splitlines())
