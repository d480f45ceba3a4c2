"""The outcome of handling one event (SPEC section 2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crmhub.core.models import ACTIONS, CrmRecord


@dataclass(frozen=True)
class Outcome:
    """What happened to one event. ``to_dict()`` is the wire format hosts and the CLI print."""

    event_id: str
    session_id: str
    action: str
    reason: str
    record: CrmRecord | None = None
    follow_up_of: str | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown action {self.action!r}")

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "event_id": self.event_id,
            "session_id": self.session_id,
            "action": self.action,
            "record": self.record.to_dict() if self.record else None,
            "reason": self.reason,
        }
        if self.follow_up_of:
            data["follow_up_of"] = self.follow_up_of
        if self.error:
            data["error"] = self.error
        data.update(self.extra)
        return data
