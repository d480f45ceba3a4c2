"""Run crmhub's performance benchmarks: ``python bench/run.py [--quick] [--only NAME ...]``.

Each benchmark measures crmhub side by side with its baseline in the same run and reports the
ratio beside its target (docs/benchmarks.md says what each one measures and why). Servers bind
127.0.0.1 only. The table goes to stdout, progress to stderr; the figures are written to
``bench/results.json`` and printed as the last line of output, one JSON object on one line.
Benchmarks report figures and never fail on speed: the exit code is 0 unless a benchmark broke
(an error, a wrong outcome, a check that did not hold), then 1.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(ROOT))

from bench import api_calls, concurrency, history, http_overhead, memory, startup, throughput  # noqa: E402

BENCHMARKS: dict[str, Callable[..., dict[str, Any]]] = {
    "api_calls": api_calls.run,
    "http_overhead": http_overhead.run,
    "throughput": throughput.run,
    "startup": startup.run,
    "history": history.run,
    "concurrency": concurrency.run,
    "memory": memory.run,
}
DEFAULT_OUTPUT = ROOT / "bench" / "results.json"


def _read(path: str, key: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def machine() -> dict[str, Any]:
    """Where the figures come from."""
    status = _git("status", "--porcelain")
    return {
        "cpus": os.cpu_count(),
        "cpu_model": _read("/proc/cpuinfo", "model name") or platform.processor() or None,
        "memory_total": _read("/proc/meminfo", "MemTotal"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "commit": _git("rev-parse", "--short", "HEAD"),
        "uncommitted_changes": bool(status) if status is not None else None,
    }


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def table(results: dict[str, dict[str, Any]]) -> str:
    """The figures as text: one line per benchmark, one per CRM and scenario for the API calls."""
    lines = [f"{'benchmark':<16} {'crmhub':>16} {'baseline':>16} {'ratio':>7}  {'target':<16} met"]
    for name, result in results.items():
        if "error" in result:
            lines.append(f"{name:<16} BROKE: {result['error']}")
        elif name == "api_calls":
            lines.append(f"{name:<16} {'calls':>16} {'vendor minimum':>16} {'':>7}  {result['target']:<16} "
                         f"{'yes' if result['met'] else 'no'}")
            for crm, scenarios in result["crms"].items():
                for scenario, row in scenarios.items():
                    label = f"  {crm} {scenario}"
                    lines.append(f"{label:<30} {row['calls']:>2} {row['minimum']:>16} {row['ratio']:>7}  "
                                 f"{'':<16} {'yes' if row['met'] else 'no'}")
        else:
            figures = result["figures"]
            lines.append(f"{name:<16} {figures['crmhub']:>16} {figures['baseline']:>16} "
                         f"{result['ratio']:>7}  {result['target']:<16} {'yes' if result['met'] else 'no'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes: the whole run within a minute")
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), help="run only these benchmarks")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the JSON figures")
    args = parser.parse_args(argv)

    def progress(message: str) -> None:
        print(f"[bench] {message}", file=sys.stderr, flush=True)

    report: dict[str, Any] = {
        "quick": args.quick,
        "started_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "load_average_at_start": _load(),
        "benchmarks": {},
    }
    broke = False
    run_started = time.perf_counter()
    for name in args.only or list(BENCHMARKS):
        started = time.perf_counter()
        progress(f"{name}: starting")
        try:
            result = BENCHMARKS[name](args.quick, progress)
        except Exception as error:  # report it, run the others, exit 1 at the end
            traceback.print_exc(file=sys.stderr)
            result = {"error": f"{type(error).__name__}: {error}"}
            broke = True
        result["seconds_taken"] = round(time.perf_counter() - started, 1)
        report["benchmarks"][name] = result
    report["seconds_taken"] = round(time.perf_counter() - run_started, 1)
    report["load_average_at_end"] = _load()
    report["targets_met"] = all(r.get("met", False) for r in report["benchmarks"].values())
    print(table(report["benchmarks"]))
    print(f"total {report['seconds_taken']} s; figures written to {args.output}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, separators=(",", ":")))
    return 1 if broke else 0


if __name__ == "__main__":
    sys.exit(main())
