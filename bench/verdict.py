"""What every benchmark does alike: time a dispatcher over events, and state a ratio against its target."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from typing import Any


def handle_all(dispatcher: Any, events: Iterable[dict[str, Any]]) -> tuple[float, dict[str, int]]:
    """Seconds ``dispatcher.handle`` took over ``events``, and how many got each action."""
    actions: Counter[str] = Counter()
    started = time.perf_counter()
    for item in events:
        actions[dispatcher.handle(item).action] += 1
    return time.perf_counter() - started, dict(actions)


def ratio_verdict(
    title: str, ratio: float, target: float, crmhub: str, baseline: str, *, at_least: bool = False
) -> dict[str, Any]:
    """The keys every ratio benchmark reports first (the table reads them): ``ratio`` must be at
    most ``target``, or with ``at_least`` at least it; ``crmhub`` and ``baseline`` are the two
    figures as shown."""
    return {
        "title": title,
        "target": f"ratio {'>=' if at_least else '<='} {target}",
        "ratio": round(ratio, 3),
        "met": ratio >= target if at_least else ratio <= target,
        "figures": {"crmhub": crmhub, "baseline": baseline},
    }
