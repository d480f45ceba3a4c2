"""Host events for the benchmarks (SPEC section 2), built in bulk and streamed to JSON Lines.

Every session is a call of its own end user (``u-<n>``, with a phone and an email, so that CRM
plugins do their full matching) in one of a few leaf queues. Sessions come in waves that overlap
the way a contact center's do: every session of a wave is assigned, then every one connects, then
every one ends, so that the events of different sessions interleave in the stream.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

START = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)
QUEUES = (("q-42", "Refunds"), ("q-43", "Invoices"), ("q-77", "Shipping"))
WAVE = 8
CALL_ACTIONS = ("created", "skipped", "skipped")
"""What each event of a benchmark call gets when nothing else happened to its end user before."""


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def end_user(number: int, *, with_contacts: bool = True) -> dict[str, str]:
    """End user ``u-<number>``; with a phone and an email unless ``with_contacts`` is off."""
    user = {"id": f"u-{number}", "name": f"Customer {number}"}
    if with_contacts:
        user.update(phone=f"+1415{number % 10_000_000:07d}", email=f"customer{number}@example.com")
    return user


def session_fields(session_id: str, user: dict[str, str] | None, queue: int, started: datetime, channel: str = "call") -> dict[str, Any]:
    queue_id, name = QUEUES[queue % len(QUEUES)]
    return {
        "id": session_id,
        "channel": channel,
        "session_type": "Voice Inbound (IVR)" if channel == "call" else "Messaging Inbound (Web Chat)",
        "leaf_queue": {"id": queue_id, "path": ["Support", name]},
        "end_user": user or {},
        "dialed_number": "+18005550199",
        "language": "en",
        "menu_path": f"Support/{name}",
        "started_at": rfc3339(started),
    }


def event(event_id: str, kind: str, at: datetime, session: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"id": event_id, "type": kind, "at": rfc3339(at), "session": session, **top}


def call_events(number: int, user: dict[str, str] | None, queue: int, started: datetime) -> list[dict[str, Any]]:
    """Session ``call-<number>``: assigned, connected, ended (the record is made at assignment)."""
    session = session_fields(f"call-{number}", user, queue, started)
    agent = {"id": "a-3", "email": "sam@example.com"}
    return [
        event(f"evt-{number}-1", "session.assigned", started + timedelta(seconds=20), session, agent=agent),
        event(f"evt-{number}-2", "session.connected", started + timedelta(seconds=25), session, agent=agent),
        event(f"evt-{number}-3", "session.ended", started + timedelta(seconds=300), session, agent=agent),
    ]


def call_stream(sessions: int, *, first: int = 1, users: int | None = None, with_contacts: bool = True) -> Iterator[dict[str, Any]]:
    """The events of ``sessions`` calls numbered from ``first``, in overlapping waves.

    Call ``n`` belongs to end user ``n`` (every session a new end user), or with ``users`` to end
    user ``n % users``: then end users come back, and their later calls join their records.
    """
    for wave_start in range(first, first + sessions, WAVE):
        numbers = range(wave_start, min(wave_start + WAVE, first + sessions))
        waves = []
        for number in numbers:
            user_no = number if users is None else number % users
            started = START + timedelta(seconds=30 * number)
            waves.append(call_events(number, end_user(user_no, with_contacts=with_contacts), number % len(QUEUES), started))
        for step in range(len(CALL_ACTIONS)):
            for events in waves:
                yield events[step]


def write_jsonl(events: Iterator[dict[str, Any]], path: Path) -> int:
    """Write the events one per line; return how many."""
    count = 0
    with open(path, "w", encoding="utf-8") as stream:
        for item in events:
            stream.write(json.dumps(item, separators=(",", ":")))
            stream.write("\n")
            count += 1
    return count
