"""The end-of-replay summary: outcomes per action, rejected lines, and outcomes per deciding rule.

The deciding rules are read from the outcome's reason, which names them as ``(rule N)`` or
``(rules N and M)``. An outcome counts once for every rule its reason names (a reopen names rule 2
for the record it chose and rule 5 for why an abandoned call gets one); a reason that names none
counts as ``other``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crmhub.core.models import ACTIONS

_RULE_MARK = re.compile(r"\(rules? (\d+(?:(?:, | and )\d+)*)\)")


def deciding_rules(reason: str) -> list[str]:
    """``["rule 1", "rule 5"]`` for the rules a reason names, or ``["other"]``."""
    numbers = {int(n) for mark in _RULE_MARK.findall(reason) for n in re.findall(r"\d+", mark)}
    return [f"rule {n}" for n in sorted(numbers)] or ["other"]


@dataclass
class ReplaySummary:
    actions: Counter[str] = field(default_factory=Counter)
    rules: Counter[str] = field(default_factory=Counter)
    rejected: int = 0

    def add(self, outcome: Mapping[str, Any]) -> None:
        self.actions[outcome["action"]] += 1
        self.rules.update(deciding_rules(str(outcome.get("reason", ""))))

    @property
    def handled(self) -> int:
        return sum(self.actions.values())

    @property
    def all_accepted(self) -> bool:
        """No event failed and no line was rejected (``queued`` counts as accepted)."""
        return not self.actions["failed"] and not self.rejected

    def render(self) -> str:
        def rule_order(name: str) -> tuple[int, int]:
            return (1, 0) if name == "other" else (0, int(name.split()[1]))

        rules = ", ".join(f"{name}: {self.rules[name]}" for name in sorted(self.rules, key=rule_order))
        return "\n".join([
            f"summary: {self.handled} events handled, {self.rejected} lines rejected",
            "  " + ", ".join(f"{action} {self.actions[action]}" for action in ACTIONS),
            f"  deciding rules: {rules or 'none'}",
        ])
