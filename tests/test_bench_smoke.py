"""The benchmark suite still runs: one cheap benchmark, in-process, at a tiny size.

It checks the shape of what the benchmark reports (``bench/run.py`` writes the same dict into
``bench/results.json``), never a speed: benchmarks report figures, they do not fail on them.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # bench/ is a folder of the repository, not an installed package
    sys.path.insert(0, str(ROOT))

from bench import throughput  # noqa: E402


def test_core_throughput_reports_both_sides_and_counts_transactions() -> None:
    result = throughput.measure(sessions=6, rounds=1)

    assert result["target"] == "ratio <= 2.0"
    assert result["met"] == (result["ratio"] <= 2.0)
    assert result["ratio"] > 0
    assert result["crmhub"]["events_per_second"] > 0 and result["baseline"]["events_per_second"] > 0
    assert result["params"]["events"] == 18  # six calls: assigned, connected, ended
    (only_round,) = result["rounds"]
    assert sum(only_round["actions"].values()) == 18
    assert only_round["actions"]["skipped"] == 12  # every connected and ended event
    # a record-making event takes two store transactions (decide, record), any other event one
    assert only_round["transactions"] == 18 + only_round["actions"]["created"] + only_round["actions"].get("appended", 0)
    assert set(result["figures"]) == {"crmhub", "baseline"}
