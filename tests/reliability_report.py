"""Counters the reliability tests report, for ``scripts/reliability_report.py``.

Only when ``CRMHUB_RELIABILITY_REPORT`` names a file: each call appends one JSON line to it, so
that tests in several processes (workers, subprocesses) can all report. Otherwise nothing happens.
"""

from __future__ import annotations

import json
import os

REPORT_ENV = "CRMHUB_RELIABILITY_REPORT"
FIGURES = ("events", "faults", "crashes", "records_expected", "records_found", "duplicates", "lost")


def count(suite: str, **figures: int) -> None:
    """Add ``figures`` (names from FIGURES) to ``suite``'s totals."""
    unknown = set(figures) - set(FIGURES)
    if unknown:
        raise ValueError(f"unknown figures {sorted(unknown)}")
    path = os.environ.get(REPORT_ENV)
    if not path:
        return
    with open(path, "a", encoding="utf-8") as report:
        report.write(json.dumps({"suite": suite, **figures}) + "\n")
