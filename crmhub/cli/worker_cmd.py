"""``crmhub worker``: run the queued work again as it falls due, until stopped.

Each pass is :meth:`Dispatcher.retry_queued`; between passes the worker sleeps until the next
item is due, at most ``--interval``. Several workers may run at once: the dispatcher runs a
session's item under the session's lock and only if it is still pending, and on PostgreSQL that
lock holds across instances. SIGTERM or SIGINT ends the worker after the event it is running.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any

import click

from crmhub.cli.common import DEFAULT_CONFIG, EXIT_FAILED, config_option, load_plugins_reporting

log = logging.getLogger("crmhub.worker")
SHORTEST_SLEEP = 0.05  # seconds: an item due but held by another worker is looked at again soon


@click.command(short_help="Retry queued events as they fall due.")
@config_option
@click.option("--once", is_flag=True, help="One pass over the work due now, then exit.")
@click.option("--interval", type=click.FloatRange(min=SHORTEST_SLEEP), default=5.0, show_default=True,
              help="Longest sleep between passes (seconds): new work is seen this soon.")
@click.option("--max-runtime", type=click.FloatRange(min=0), default=None,
              help="Exit after this many seconds (default: run until stopped).")
@click.option("--backoff-base", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="Longest wait after a first failed attempt (seconds).")
@click.option("--backoff-factor", type=click.FloatRange(min=1), default=2.0, show_default=True,
              help="How much the longest wait grows with each failed attempt.")
@click.option("--backoff-cap", type=click.FloatRange(min=0), default=300.0, show_default=True,
              help="The longest wait ever (seconds); the CRM's Retry-After still wins.")
def worker(
    config_path: str | None, once: bool, interval: float, max_runtime: float | None,
    backoff_base: float, backoff_factor: float, backoff_cap: float,
) -> None:
    """Retry queued events as they fall due (exponential backoff with jitter, per event).

    Exits 1 if an event it ran was refused for good (see `crmhub queue list --failed`).
    """
    from crmhub.core.backoff import Backoff
    from crmhub.core.dispatcher import Dispatcher

    if log.getEffectiveLevel() > logging.INFO:
        log.setLevel(logging.INFO)  # each retried event is the worker's output
    stop = threading.Event()
    _stop_on_signals(stop)
    deadline = None if max_runtime is None else time.monotonic() + max_runtime
    backoff = Backoff(base=backoff_base, factor=backoff_factor, cap=backoff_cap)
    failed = 0
    with Dispatcher.from_config(config_path or DEFAULT_CONFIG, plugins=load_plugins_reporting(), backoff=backoff) as dispatcher:
        while not stop.is_set():
            for outcome in dispatcher.retry_queued(stop=stop):
                log.info("retried event %s of session %s: %s", outcome.event_id, outcome.session_id, outcome.action)
                failed += outcome.action == "failed"
            if once:
                break
            wait = _sleep_for(dispatcher, interval)
            if deadline is not None:
                wait = min(wait, deadline - time.monotonic())
                if wait <= 0:
                    break
            stop.wait(wait)
    if failed:
        raise click.exceptions.Exit(EXIT_FAILED)


def _sleep_for(dispatcher: Any, interval: float) -> float:
    """Until the next item is due, within [SHORTEST_SLEEP, interval]."""
    due = dispatcher.next_due()
    if due is None:
        return interval
    return min(interval, max(SHORTEST_SLEEP, (due - dispatcher.clock()).total_seconds()))


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, _frame: object) -> None:
        log.info("%s: stopping after the current event", signal.Signals(signum).name)
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, handler)
