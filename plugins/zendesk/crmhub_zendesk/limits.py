"""Zendesk's per-ticket update cap, respected before Zendesk has to refuse.

Zendesk allows a limited number of updates per ticket in a sliding window (30 per 10 minutes); a
busy end user appending many sessions to one ticket would otherwise hit it. crmhub counts its own
updates per ticket and, when the next one would exceed the cap, raises
:class:`~crmhub.core.errors.TransientCrmError` with the seconds until the oldest update leaves the
window: the dispatcher queues the event and retries then, instead of burning a refused call.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from crmhub.core.errors import TransientCrmError


class UpdateLimiter:
    """Sliding-window counter of crmhub's own updates, per ticket (thread-safe)."""

    def __init__(self, max_updates: int, window_seconds: float, clock: Callable[[], float] = time.monotonic):
        self.max_updates = max_updates
        self.window_seconds = window_seconds
        self._clock = clock
        self._updates: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def reserve(self, ticket_id: str) -> None:
        """Count one update of ``ticket_id`` now, or raise if it would exceed the cap."""
        with self._lock:
            now = self._clock()
            recent = self._updates.setdefault(ticket_id, deque())
            while recent and recent[0] <= now - self.window_seconds:
                recent.popleft()
            if len(recent) >= self.max_updates:
                wait = recent[0] + self.window_seconds - now
                raise TransientCrmError(
                    f"ticket {ticket_id} already had {len(recent)} updates from crmhub in the last "
                    f"{self.window_seconds:g} s (Zendesk allows {self.max_updates}); try again later",
                    retry_after=round(max(wait, 0.0), 3),
                )
            recent.append(now)

    def release(self, ticket_id: str) -> None:
        """Give back the newest reservation: the update was refused before Zendesk applied it."""
        with self._lock:
            recent = self._updates.get(ticket_id)
            if recent:
                recent.pop()
