"""Benchmark 7: peak memory of ``crmhub replay`` over 1,000,000 events against 10,000.

The events (calls of distinct end users: assigned, connected, ended) are generated to a JSON Lines
file in a temporary folder and replayed by the real command line with the no-op CRM plugin added
(``bench/noop_cli.py``); outcomes go to ``/dev/null``. The SQLite store is put in shared memory
(``/dev/shm``) where the machine has it: this benchmark measures memory, not durability, and
without the fsyncs the 1,000,000-event replay takes a third less time (the store's pages are the
kernel's, not the replay process's, wherever the file is). The peak resident set size is the
replay process's own: each replay runs under a small probe process that starts it, waits for it
and reports ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` — the probe has no other child, so
that figure is the replay's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import noop_crm
from bench.events import call_stream, write_jsonl
from bench.settings_file import write_settings
from bench.verdict import ratio_verdict

TARGET = 1.2
SHARED_MEMORY = Path("/dev/shm")
RULES = {"append_to_open_record": True}
NOOP_CLI = Path(__file__).resolve().parent / "noop_cli.py"
PROBE = """\
import resource, subprocess, sys
with open(sys.argv[1], "wb") as errors:
    code = subprocess.run(sys.argv[2:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)
"""


def peak_rss(folder: Path, events: Path, timeout: float) -> tuple[int, float]:
    """(peak RSS in KiB, wall seconds) of one replay of ``events``."""
    replay = [sys.executable, str(NOOP_CLI), "replay", str(events), "--config", "crmhub.toml", "--output", "/dev/null"]
    started = time.perf_counter()
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, str(folder / "replay-stderr.txt"), *replay],
        cwd=folder, capture_output=True, text=True, timeout=timeout,
    )
    seconds = time.perf_counter() - started
    fields = probe.stdout.split()
    if probe.returncode != 0 or len(fields) != 2 or fields[1] != "0":
        said = (folder / "replay-stderr.txt").read_text(errors="replace")[-500:] if (folder / "replay-stderr.txt").exists() else ""
        raise RuntimeError(f"the replay of {events.name} failed ({probe.stdout.strip()} {probe.stderr.strip()[-300:]}): {said}")
    return int(fields[0]), seconds


def _store_folder() -> tempfile.TemporaryDirectory[str]:
    in_memory = SHARED_MEMORY.is_dir() and os.access(SHARED_MEMORY, os.W_OK)
    return tempfile.TemporaryDirectory(prefix="crmhub-bench-", dir=SHARED_MEMORY if in_memory else None)


def measure(events_count: int, progress: Callable[[str], None]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="crmhub-bench-") as name, _store_folder() as store:
        folder = Path(name)
        write_settings(folder / "crmhub.toml", noop_crm.CRM_KEY, {}, RULES, f"sqlite:///{Path(store) / 'state.db'}")
        progress(f"memory: writing {events_count:,} events")
        written = write_jsonl(call_stream(-(-events_count // 3)), folder / "events.jsonl")
        size = (folder / "events.jsonl").stat().st_size
        progress(f"memory: replaying {written:,} events")
        rss, seconds = peak_rss(folder, folder / "events.jsonl", timeout=300 + written * 0.02)
        store_in = "shared memory" if str(store).startswith(str(SHARED_MEMORY)) else "temporary folder"
    return {"events": written, "peak_rss_mib": round(rss / 1024, 1), "seconds": round(seconds, 1),
            "events_per_second": round(written / seconds, 1), "file_megabytes": round(size / 1e6, 1), "store": store_in}


def run(quick: bool, progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    small_count, big_count = (500, 5_000) if quick else (10_000, 1_000_000)
    small = measure(small_count, progress)
    large = measure(big_count, progress)
    ratio = large["peak_rss_mib"] / small["peak_rss_mib"]
    return {
        **ratio_verdict(
            f"Memory: peak RSS replaying {large['events']:,} events vs {small['events']:,}", ratio, TARGET,
            f"{large['peak_rss_mib']} MiB", f"{small['peak_rss_mib']} MiB",
        ),
        "crmhub": large,
        "baseline": small,
        "params": {"crm": "noop (bench/noop_cli.py)", "workers": 1, "rules": RULES, "output": "/dev/null"},
    }
