"""Run the reliability tests and print the figures they report, as the table in docs/reliability.md.

    python scripts/reliability_report.py [PYTEST ARGS...]

The tests append their counters to the file named by ``CRMHUB_RELIABILITY_REPORT`` (see
``tests/reliability_report.py``); this script points it at a temporary file, runs
``tests/test_reliability_*.py`` with the current Python, sums the counters per suite and prints a
Markdown table. The exit code is pytest's (no table if the tests failed).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.reliability_report import FIGURES, REPORT_ENV  # noqa: E402 -- the tests' own names for them

SUITES = {
    "faults": "CRM faults through the zendesk plugin (fake Zendesk)",
    "crashes": "replay SIGKILLed at a named point, then run again",
    "stateful": "hypothesis state machine: reorderings, redeliveries, faults, restarts, against a model of the rules",
    "threads": "8 threads, interleaved sessions of the same end users",
}


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.jsonl"
        report.touch()
        tests = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_reliability_*.py"))
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests, *argv],
            cwd=ROOT, env={**os.environ, REPORT_ENV: str(report)},
        )
        if result.returncode != 0:
            return result.returncode
        totals: dict[str, Counter[str]] = defaultdict(Counter)
        for line in report.read_text().splitlines():
            entry = json.loads(line)
            suite = entry.pop("suite")
            totals[suite].update(entry)
            totals[suite]["runs"] += 1
    print(table(totals))
    return 0


def table(totals: dict[str, Counter[str]]) -> str:
    headers = ["suite", "runs", *(f.replace("_", " ") for f in FIGURES)]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    overall: Counter[str] = Counter()
    for suite in SUITES:
        if suite in totals:
            counts = totals[suite]
            overall.update(counts)
            lines.append("| " + " | ".join([SUITES[suite], str(counts["runs"]), *(str(counts[f]) for f in FIGURES)]) + " |")
    lines.append("| **total** | " + " | ".join([str(overall["runs"]), *(str(overall[f]) for f in FIGURES)]) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
