"""Benchmark 4: start-up time of ``crmhub --help`` against ``python -c "import click, requests"``.

Both run as subprocesses of the same interpreter, alternating, after one unmeasured run each (so
that both find the files in the OS cache), hyperfine-style: the figure is the ratio of the medians.
``crmhub`` is the installed console script, with every plugin of the environment installed.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from bench.verdict import ratio_verdict

TARGET = 1.5
BASELINE = [sys.executable, "-c", "import click, requests"]


def crmhub_command() -> list[str]:
    """The console script next to this interpreter (else on PATH, else ``python -m crmhub``)."""
    beside = Path(sys.executable).parent / "crmhub"
    if beside.exists():
        return [str(beside), "--help"]
    found = shutil.which("crmhub")
    return [found, "--help"] if found else [sys.executable, "-m", "crmhub", "--help"]


def _environment() -> dict[str, str]:
    """This environment without crmhub's plugin switches, so that every installed plugin counts."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CRMHUB_")}


def time_once(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, timeout=60, env=_environment())
    return time.perf_counter() - started


def run(quick: bool, progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    repeats = 5 if quick else 21
    crmhub = crmhub_command()
    time_once(crmhub)
    time_once(BASELINE)
    crmhub_times, baseline_times = [], []
    for number in range(repeats):
        if number % 5 == 0:
            progress(f"startup run {number + 1}/{repeats}")
        crmhub_times.append(time_once(crmhub))
        baseline_times.append(time_once(BASELINE))
    crmhub_median, baseline_median = statistics.median(crmhub_times), statistics.median(baseline_times)
    ratio = crmhub_median / baseline_median
    return {
        **ratio_verdict(
            "Start-up: crmhub --help", ratio, TARGET, f"{crmhub_median * 1000:.0f} ms", f"{baseline_median * 1000:.0f} ms"
        ),
        "crmhub": {"median_ms": round(crmhub_median * 1000, 1), "min_ms": round(min(crmhub_times) * 1000, 1)},
        "baseline": {"median_ms": round(baseline_median * 1000, 1), "min_ms": round(min(baseline_times) * 1000, 1)},
        "params": {
            "repeats": repeats,
            "crmhub_command": " ".join(["crmhub", *crmhub[1:]] if crmhub[0].endswith("crmhub") else crmhub),
            "baseline_command": 'python -c "import click, requests"',
            "installed_plugins": sorted(ep.name for ep in entry_points(group="crmhub")),
        },
    }
