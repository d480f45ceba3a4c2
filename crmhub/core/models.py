"""The values that flow between the host, the rule engine, the store and the plugins.

Plain frozen dataclasses: they carry no behaviour beyond small conversions, so that the hook
signatures that use them read as documentation.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Channel = Literal["call", "chat"]
EventType = Literal[
    "session.assigned", "session.connected", "session.message", "session.abandoned", "session.ended"
]
EVENT_TYPES: tuple[str, ...] = (
    "session.assigned",
    "session.connected",
    "session.message",
    "session.abandoned",
    "session.ended",
)
CHANNELS: tuple[str, ...] = ("call", "chat")
ACTIONS: tuple[str, ...] = (
    "created", "appended", "reopened", "deferred", "skipped", "duplicate", "queued", "failed"
)


@dataclass(frozen=True)
class EndUser:
    """The customer. ``id`` is the host's id for them; any of the fields may be missing."""

    id: str | None = None
    phone: str | None = None
    email: str | None = None
    name: str | None = None

    @property
    def is_anonymous(self) -> bool:
        return not (self.id or self.phone or self.email)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


@dataclass(frozen=True)
class LeafQueue:
    """The exact queue a session was routed to; ``path`` runs from the top menu to the leaf."""

    id: str
    path: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return " / ".join(self.path) if self.path else self.id

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "path": list(self.path)}


@dataclass(frozen=True)
class Session:
    """What is known of a session: the latest value of each key received so far."""

    id: str
    channel: str
    session_type: str | None = None
    leaf_queue: LeafQueue | None = None
    end_user: EndUser | None = None
    dialed_number: str | None = None
    language: str | None = None
    menu_path: str | None = None
    started_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def is_anonymous(self) -> bool:
        return self.end_user is None or self.end_user.is_anonymous


@dataclass(frozen=True)
class Event:
    """One validated host event. ``session`` holds only the keys this event carried."""

    id: str
    type: str
    at: datetime
    session_id: str
    channel: str
    session_fields: dict[str, Any]
    agent: dict[str, Any] | None = None
    message_from: str | None = None
    message_text: str | None = None
    short: bool | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class CrmRecord:
    """A record as the CRM reports it.

    ``status`` is normalised to ``"open"`` or ``"closed"``; ``crm_status`` is the CRM's own value.
    ``closed_at`` is the close time the window of rule 2 is measured from (None while open).
    ``follow_up_of`` is set on a record made because ``id`` of an old one could not be reopened.
    """

    crm: str
    id: str
    status: Literal["open", "closed"]
    crm_status: str
    url: str | None = None
    closed_at: datetime | None = None
    created_at: datetime | None = None
    leaf_queue_id: str | None = None
    follow_up_of: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def to_dict(self) -> dict[str, Any]:
        """The ``record`` object of an outcome (SPEC section 2)."""
        return {
            "crm": self.crm,
            "id": self.id,
            "url": self.url,
            "status": self.status,
            "crm_status": self.crm_status,
        }

    def to_state(self) -> dict[str, Any]:
        """Everything, JSON-ready, for the state store."""
        data = self.to_dict()
        data.update(
            closed_at=self.closed_at.isoformat() if self.closed_at else None,
            created_at=self.created_at.isoformat() if self.created_at else None,
            leaf_queue_id=self.leaf_queue_id,
            follow_up_of=self.follow_up_of,
        )
        return data

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> "CrmRecord":
        def when(value: str | None) -> datetime | None:
            return datetime.fromisoformat(value) if value else None

        return cls(
            crm=data["crm"],
            id=str(data["id"]),
            status=data["status"],
            crm_status=data["crm_status"],
            url=data.get("url"),
            closed_at=when(data.get("closed_at")),
            created_at=when(data.get("created_at")),
            leaf_queue_id=data.get("leaf_queue_id"),
            follow_up_of=data.get("follow_up_of"),
        )


@dataclass(frozen=True)
class RecordQuery:
    """What ``find_open_record`` is asked: the end user's records made from one leaf queue.

    ``closed_since`` is None when rule 2 is off; otherwise a closed record counts when its close
    time is at or after it. ``hint`` is the id of the newest record crmhub remembers for this end
    user and leaf queue: a shortcut for the lookup, never a substitute for asking the CRM.
    """

    end_user: EndUser
    leaf_queue: LeafQueue
    at: datetime
    closed_since: datetime | None = None
    hint: str | None = None
    session_id: str | None = None


@dataclass(frozen=True)
class NewRecord:
    """Everything a plugin needs to create a record for a session.

    ``idempotency_key`` is stable for the session: a plugin passes it to the CRM where the CRM
    deduplicates on such a key (Zendesk ``Idempotency-Key``, a Salesforce external-ID upsert).
    ``tags`` are already in the CRM's form.
    """

    session: Session
    title: str
    description: str
    tags: tuple[str, ...]
    idempotency_key: str
    at: datetime

    @property
    def session_id(self) -> str:
        return self.session.id


@dataclass(frozen=True)
class SessionNote:
    """A session being added to an existing record: the note text and tags it brings."""

    session: Session
    text: str
    tags: tuple[str, ...]
    at: datetime
    idempotency_key: str


@dataclass(frozen=True)
class CheckResult:
    """One read-only check of a live CRM (``crmhub check``): what was checked, and how it went.

    ``detail`` says why it failed, in words an integrator can act on; it never holds a secret.
    """

    name: str
    ok: bool
    detail: str = ""
