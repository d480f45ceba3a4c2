"""Builders for host events (SPEC section 2), shared by the test modules.

An :class:`EventFactory` hands out valid event dicts with increasing ids (``evt-000001``, …) and
increasing times, so that a test states only what matters to it::

    events = EventFactory()
    call = events.call("call-1", end_user=end_user("u-7"), leaf_queue=leaf_queue("q-42"))
    call.assigned(), call.connected(), call.ended()

Every event carries the session's full set of keys unless ``bare=True`` (then only ``id`` and
``channel``, the keys SPEC requires); ``fields={...}`` overrides session keys on one event only.
:func:`local_settings` is the matching settings mapping for a dispatcher on the ``local`` CRM.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from typing import Any

START = datetime(2026, 11, 25, 9, 30, tzinfo=timezone.utc)
CALL_TYPE = "Voice Inbound (IVR)"
CHAT_TYPE = "Messaging Inbound (Web Chat)"


def rfc3339(when: datetime) -> str:
    """``2026-11-25T09:30:00Z`` for a UTC time; other offsets are written as they are."""
    text = when.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def end_user(
    id: str | None = None, *, phone: str | None = None, email: str | None = None, name: str | None = None
) -> dict[str, str]:
    """An ``end_user`` object with only the keys given; ``end_user()`` is an anonymous one."""
    given = {"id": id, "phone": phone, "email": email, "name": name}
    return {key: value for key, value in given.items() if value is not None}


def leaf_queue(queue_id: str, *path: str) -> dict[str, Any]:
    """A ``leaf_queue`` object; the path defaults to ``["Support", queue_id]``."""
    return {"id": queue_id, "path": list(path) if path else ["Support", queue_id]}


ADA = end_user("u-7", phone="+14155550100", email="ada@example.com", name="Ada L.")
REFUNDS = leaf_queue("q-42", "Support", "Billing", "Refunds")


class SessionEvents:
    """The events of one session; each method returns a fresh event dict."""

    def __init__(self, factory: "EventFactory", fields: dict[str, Any]):
        self.factory = factory
        self.fields = fields

    @property
    def id(self) -> str:
        return self.fields["id"]

    def event(
        self,
        type_: str,
        *,
        at: datetime | str | None = None,
        bare: bool = False,
        fields: dict[str, Any] | None = None,
        **top: Any,
    ) -> dict[str, Any]:
        """Any event of this session; ``top`` adds top-level keys (``message``, ``short``…)."""
        session = {"id": self.id, "channel": self.fields["channel"]} if bare else copy.deepcopy(self.fields)
        session.update(fields or {})
        event = {
            "id": self.factory.next_id(),
            "type": type_,
            "at": self.factory.stamp(at),
            "session": session,
        }
        event.update(top)
        return event

    def assigned(self, **options: Any) -> dict[str, Any]:
        options.setdefault("agent", {"id": "a-3", "email": "sam@example.com"})
        return self.event("session.assigned", **options)

    def connected(self, **options: Any) -> dict[str, Any]:
        options.setdefault("agent", {"id": "a-3", "email": "sam@example.com"})
        return self.event("session.connected", **options)

    def message(self, text: str = "hello", *, sender: str = "end_user", **options: Any) -> dict[str, Any]:
        return self.event("session.message", message={"from": sender, "text": text}, **options)

    def abandoned(self, *, short: bool | None = None, **options: Any) -> dict[str, Any]:
        if short is not None:
            options["short"] = short
        return self.event("session.abandoned", **options)

    def ended(self, **options: Any) -> dict[str, Any]:
        return self.event("session.ended", **options)


class EventFactory:
    """Valid events with unique, increasing ids and times ``step`` apart."""

    def __init__(self, start: datetime = START, step: timedelta = timedelta(seconds=5), id_prefix: str = "evt-"):
        self.now = start
        self.step = step
        self.id_prefix = id_prefix
        self._ids = 0
        self._sessions = 0

    def next_id(self) -> str:
        self._ids += 1
        return f"{self.id_prefix}{self._ids:06d}"

    def advance(self, delta: timedelta | float) -> datetime:
        """Move the clock on (seconds or a timedelta) and return the new time."""
        self.now += delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        return self.now

    def stamp(self, at: datetime | str | None) -> str:
        """The ``at`` of the next event: the given time, or the clock moved on by one step."""
        if isinstance(at, str):
            return at
        if at is not None:
            return rfc3339(at)
        self.now += self.step
        return rfc3339(self.now)

    def session(self, channel: str, session_id: str | None = None, **fields: Any) -> SessionEvents:
        """A session starting now; ``fields`` set or replace session keys (None drops a key)."""
        self._sessions += 1
        data: dict[str, Any] = {
            "id": session_id or f"{channel}-{1000 + self._sessions}",
            "channel": channel,
            "session_type": CALL_TYPE if channel == "call" else CHAT_TYPE,
            "leaf_queue": copy.deepcopy(REFUNDS),
            "end_user": dict(ADA),
            "dialed_number": "+18005550199",
            "language": "en",
            "menu_path": "Billing/Refunds",
            "started_at": rfc3339(self.now),
        }
        for key, value in fields.items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = rfc3339(value) if isinstance(value, datetime) else value
        return SessionEvents(self, data)

    def call(self, session_id: str | None = None, **fields: Any) -> SessionEvents:
        return self.session("call", session_id, **fields)

    def chat(self, session_id: str | None = None, **fields: Any) -> SessionEvents:
        return self.session("chat", session_id, **fields)


def local_settings(folder: Any, **record_creation: Any) -> dict[str, Any]:
    """A settings mapping for the built-in ``local`` CRM with both SQLite files in ``folder``."""
    return {
        "crm": {"plugin": "local", "local": {"path": str(folder / "records.db")}},
        "store": {"url": f"sqlite:///{folder / 'state.db'}"},
        "record_creation": record_creation,
    }


DELETE = object()
"""For :func:`with_part`: remove the key instead of setting it."""


def with_part(raw: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """A copy of event ``raw`` with the key at ``path`` (``("session", "channel")``) set to
    ``value``, or removed with :data:`DELETE`; unchanged where the path's parent is not an object."""
    result = copy.deepcopy(raw)
    target = result
    for key in path[:-1]:
        if not isinstance(target.get(key), dict):
            return result
        target = target[key]
    if value is DELETE:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value
    return result
