"""The session-type catalogue: display name → channel, title label and pinned tag forms.

The table itself is data (``data/session_types.toml``); integrators extend it from settings. An
unknown name is accepted, warned about once per catalogue, used as its own title label and
tagged by each CRM's generic rule.
"""

from __future__ import annotations

import logging
import threading
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SessionType:
    name: str
    channel: str | None
    label: str
    tags: Mapping[str, str] = field(default_factory=dict)
    known: bool = True


def builtin_entries() -> dict[str, dict[str, Any]]:
    """The shipped table, as read from its TOML file."""
    text = resources.files("crmhub.core").joinpath("data/session_types.toml").read_text("utf-8")
    return tomllib.loads(text)


class SessionTypeCatalogue:
    """Look-ups in the shipped table plus the integrator's additions."""

    def __init__(self, extra: Mapping[str, Mapping[str, Any]] | None = None):
        entries = builtin_entries()
        for name, entry in (extra or {}).items():
            entries[name] = {**entries.get(name, {}), **entry}
        self._types = {
            name: SessionType(
                name=name,
                channel=entry.get("channel"),
                label=entry.get("label") or name,
                tags=dict(entry.get("tags") or {}),
            )
            for name, entry in entries.items()
        }
        self._warned: set[str] = set()
        self._lock = threading.Lock()

    def __contains__(self, name: str) -> bool:
        return name in self._types

    def names(self) -> list[str]:
        return list(self._types)

    def get(self, name: str) -> SessionType:
        """The entry for ``name``; an unknown name gets a generic entry and one warning."""
        found = self._types.get(name)
        if found is not None:
            return found
        with self._lock:
            if name not in self._warned:
                self._warned.add(name)
                log.warning(
                    "unknown session type %r: using it as its own title label and the generic tag rule",
                    name,
                )
        return SessionType(name=name, channel=None, label=name, known=False)

    def label(self, name: str | None) -> str | None:
        return self.get(name).label if name else None
