"""Replaying a stream of JSON Lines events with N worker threads, outcomes in input order.

The reader (the calling thread) parses each line and routes the event to a worker chosen by a
stable hash of its ``session.id``, so that one session's events are handled one after the other,
in input order, while different sessions go in parallel. Every line that is not blank gets a
sequence number; results wait in a reorder buffer until all earlier ones are out, and a writer
thread hands them to ``emit`` in input order. The reader stops reading while it is more than
``window`` lines ahead of the writer, so memory stays bounded whatever the input size.

After an unexpected error (a store failure, say) nothing new is started: the events already
handled are still emitted, the rest come out as ``not_handled``, and the run stops.
"""

from __future__ import annotations

import json
import queue
import threading
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_WINDOW = 10_000


@dataclass(frozen=True)
class LineResult:
    """What became of one input line. Exactly one of the four kinds applies."""

    line_no: int
    size: int
    outcome: dict[str, Any] | None = None
    rejected: str | None = None  # "FIELD: problem"
    error: str | None = None  # an unexpected error: the run stops
    not_handled: bool = False  # read, but left alone because the run stopped


Handler = Callable[[Mapping[str, Any]], dict[str, Any]]
Rejection = type[Exception] | tuple[type[Exception], ...]


def parse_line(raw: bytes) -> dict[str, Any] | str:
    """The event on a line, or the reason it is not one (``FIELD: problem``)."""
    try:
        event = json.loads(raw)
    except json.JSONDecodeError as error:
        return f"event: not valid JSON: {error.msg} (column {error.colno})"
    except UnicodeDecodeError:
        return "event: not valid UTF-8"
    if not isinstance(event, dict):
        return f"event: must be a JSON object, not {type(event).__name__}"
    return event


def worker_for(event: Mapping[str, Any], workers: int) -> int:
    """A stable worker index for the event's ``session.id`` (the raw value, valid or not)."""
    session = event.get("session")
    session_id = session.get("id") if isinstance(session, Mapping) else None
    return zlib.crc32(json.dumps(session_id).encode()) % workers


class _ReorderBuffer:
    """Results keyed by sequence number, released strictly in order."""

    def __init__(self, window: int):
        self._window = window
        self._cond = threading.Condition()
        self._results: dict[int, LineResult] = {}
        self._next = 0
        self._total: int | None = None

    def wait_for_room(self, seq: int) -> None:
        with self._cond:
            self._cond.wait_for(lambda: seq - self._next < self._window)

    def put(self, seq: int, result: LineResult) -> None:
        with self._cond:
            self._results[seq] = result
            self._cond.notify_all()

    def finish(self, total: int) -> None:
        with self._cond:
            self._total = total
            self._cond.notify_all()

    def __iter__(self) -> Any:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._next in self._results or self._next == self._total)
                if self._next == self._total:
                    return
                result = self._results.pop(self._next)
                self._next += 1
                self._cond.notify_all()
            yield result


def run(
    lines: Iterable[bytes],
    handle: Handler,
    emit: Callable[[LineResult], None],
    *,
    rejection: Rejection,
    workers: int = 1,
    window: int = DEFAULT_WINDOW,
) -> None:
    """Handle every line; ``emit`` each result in input order (from one thread at a time).

    ``handle`` turns an event into its outcome dict; an exception of a ``rejection`` type means the
    event was rejected (its text names the field), any other stops the run. An exception from
    ``emit`` (a full disk) stops the run and is raised once the threads are done.
    """
    buffer = _ReorderBuffer(window)
    stop = threading.Event()
    inboxes: list[queue.SimpleQueue[tuple[int, int, int, dict[str, Any]] | None]] = [
        queue.SimpleQueue() for _ in range(workers)
    ]
    emit_errors: list[BaseException] = []

    def work(inbox: queue.SimpleQueue[tuple[int, int, int, dict[str, Any]] | None]) -> None:
        while (item := inbox.get()) is not None:
            seq, line_no, size, event = item
            if stop.is_set():
                buffer.put(seq, LineResult(line_no, size, not_handled=True))
                continue
            try:
                result = LineResult(line_no, size, outcome=handle(event))
            except rejection as error:
                result = LineResult(line_no, size, rejected=str(error))
            except Exception as error:  # stop the run; everything handled so far is still emitted
                stop.set()
                result = LineResult(line_no, size, error=f"{type(error).__name__}: {error}")
            buffer.put(seq, result)

    def write() -> None:
        for result in buffer:
            if emit_errors:
                continue  # keep draining so that nobody waits for room forever
            try:
                emit(result)
            except BaseException as error:
                emit_errors.append(error)
                stop.set()

    threads = [threading.Thread(target=work, args=(inbox,), name=f"crmhub-replay-{i}") for i, inbox in enumerate(inboxes)]
    writer = threading.Thread(target=write, name="crmhub-replay-writer")
    for thread in [*threads, writer]:
        thread.start()
    seq = 0
    complete = False
    try:
        for line_no, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            buffer.wait_for_room(seq)
            if stop.is_set():
                break
            parsed = parse_line(raw)
            if isinstance(parsed, str):
                buffer.put(seq, LineResult(line_no, len(raw), rejected=parsed))
            else:
                inboxes[worker_for(parsed, workers)].put((seq, line_no, len(raw), parsed))
            seq += 1
        else:
            complete = True
    finally:  # an interrupt too: let the workers finish what they hold and the writer write it
        if not complete:
            stop.set()
        buffer.finish(seq)
        for inbox in inboxes:
            inbox.put(None)
        for thread in [*threads, writer]:
            thread.join()
    if emit_errors:
        raise emit_errors[0]
