"""``crmhub replay``: feed a JSON Lines file of host events to the dispatcher, outcomes out.

The input is streamed line by line (never loaded whole) and the outcomes come out in input order,
whatever ``--workers`` is. A rejected line gets no outcome: its line number and field go to stderr
and the run goes on. The summary goes to stderr at the end, so that stdout holds outcomes only.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from typing import IO, Any

import click

from crmhub.cli.common import DEFAULT_CONFIG, EXIT_FAILED, EXIT_OK, config_option, load_plugins_reporting


@contextlib.contextmanager
def _open_input(path: str) -> Iterator[IO[bytes]]:
    if path == "-":
        yield sys.stdin.buffer
    else:
        with open(path, "rb") as stream:
            yield stream


@contextlib.contextmanager
def _open_output(path: str | None) -> Iterator[IO[bytes]]:
    if path is None or path == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
    else:
        with open(path, "wb") as stream:
            yield stream


@contextlib.contextmanager
def _progress(events: str) -> Iterator[Any]:
    """A progress bar over the input's bytes, on stderr, only when stderr is a terminal and the
    input a file (stdin has no known size)."""
    if events == "-" or not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=os.path.getsize(events), label="replaying", file=sys.stderr) as bar:
        yield bar


@click.command(short_help="Handle a JSON Lines file of events; outcomes in input order.")
@click.argument("events", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@config_option
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, allow_dash=True), default=None,
    help="Write the outcomes (JSON Lines) to this file instead of stdout.",
)
@click.option(
    "--workers", type=click.IntRange(min=1), default=1, show_default=True,
    help="Handle this many sessions in parallel; each session's events stay in order.",
)
@click.option(
    "--dry-run", is_flag=True,
    help="Decide and show the CRM calls that would be made, writing nothing to the CRM or the store.",
)
def replay(events: str, config_path: str | None, output: str | None, workers: int, dry_run: bool) -> None:
    """Handle the events of EVENTS.jsonl (one JSON object per line; - for stdin).

    Outcomes are written as JSON Lines in input order; rejected lines are reported on stderr
    with their line number and field; a summary follows on stderr. Exit 0 when every event was
    accepted (queued included), 1 when some failed or lines were rejected, 2 on a usage or
    settings error.
    """
    from crmhub.cli import pipeline
    from crmhub.cli.summary import ReplaySummary
    from crmhub.core.dispatcher import Dispatcher
    from crmhub.core.errors import InvalidEvent

    plugins = load_plugins_reporting()
    summary = ReplaySummary()
    stopped_by: list[str] = []
    not_handled = 0

    with contextlib.closing(
        Dispatcher.from_config(config_path or DEFAULT_CONFIG, plugins=plugins, dry_run=dry_run)
    ) as dispatcher, _open_input(events) as source, _open_output(output) as sink, _progress(events) as bar:

        def emit(result: pipeline.LineResult) -> None:
            nonlocal not_handled
            if result.outcome is not None:
                sink.write(json.dumps(result.outcome, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
                summary.add(result.outcome)
            elif result.rejected is not None:
                summary.rejected += 1
                click.echo(f"line {result.line_no}: {result.rejected}", err=True)
            elif result.error is not None:
                stopped_by.append(f"line {result.line_no}: unexpected {result.error}")
            else:
                not_handled += 1
            if bar is not None:
                bar.update(result.size)

        try:
            pipeline.run(
                source, lambda event: dispatcher.handle(event).to_dict(), emit,
                rejection=InvalidEvent, workers=workers,
            )
        except KeyboardInterrupt:
            stopped_by.append("interrupted")

    click.echo(summary.render(), err=True)
    if dry_run:
        click.echo("dry run: nothing was written to the CRM or the store", err=True)
    if stopped_by:
        rest = f"; {not_handled} lines read ahead were not handled" if not_handled else ""
        click.echo(f"Error: the replay stopped early: {stopped_by[0]}{rest}", err=True)
    ok = summary.all_accepted and not stopped_by
    raise click.exceptions.Exit(EXIT_OK if ok else EXIT_FAILED)
