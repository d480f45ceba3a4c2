"""When a work item the CRM could not take is due again: exponential backoff with full jitter.

Attempt ``n`` (1 for the first failure) waits a random time in ``[0, min(cap, base * factor**(n-1))]``
— full jitter spreads the retries of many instances that failed together — but never less than the
CRM's own ``Retry-After``. This uses the wall clock: it paces calls to a live service, whereas
the record rules read event time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Backoff:
    base: float = 1.0
    factor: float = 2.0
    cap: float = 300.0
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def __post_init__(self) -> None:
        if self.base < 0 or self.factor < 1 or self.cap < 0:
            raise ValueError("backoff needs base >= 0, factor >= 1 and cap >= 0")

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        try:
            ceiling = min(self.cap, self.base * self.factor ** max(attempt - 1, 0))
        except OverflowError:  # a huge attempt count: the cap rules long before
            ceiling = self.cap
        return max(self.rng.uniform(0.0, ceiling), retry_after or 0.0)

    def due(self, now: datetime, attempt: int, retry_after: float | None = None) -> datetime:
        return now + timedelta(seconds=self.delay(attempt, retry_after))
