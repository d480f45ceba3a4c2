"""What the fake CRMs share: a clock for the times they stamp on what they store."""

from __future__ import annotations

import itertools
import threading
from datetime import datetime, timedelta, timezone

ORIGIN = datetime(2026, 11, 20, tzinfo=timezone.utc)


class WriteClock:
    """Strictly increasing times, one second apart from ``ORIGIN``: every write gets its own
    ``updated_at``, as optimistic-concurrency checks (Zendesk's ``safe_update``) need."""

    def __init__(self) -> None:
        self._ticks = itertools.count()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return ORIGIN + timedelta(seconds=next(self._ticks))


def zulu(moment: datetime) -> str:
    """``2026-11-24T09:30:05Z``."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
