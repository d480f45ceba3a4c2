"""The replay pipeline and summary in-process: order, per-session order, bounded read-ahead."""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from crmhub.cli.explain import calls, chats, existing_records
from crmhub.cli.pipeline import LineResult, parse_line, run, worker_for
from crmhub.cli.summary import ReplaySummary, deciding_rules
from crmhub.core.settings import RecordCreationSettings


class Rejected(Exception):
    pass


def line(n: int, session: str) -> bytes:
    return json.dumps({"id": f"e{n}", "session": {"id": session}}).encode() + b"\n"


def collect(lines: list[bytes], handle: Any, workers: int, window: int = 10_000) -> list[LineResult]:
    emitted: list[LineResult] = []
    run(lines, handle, emitted.append, rejection=Rejected, workers=workers, window=window)
    return emitted


def test_results_come_out_in_input_order_while_sessions_run_in_parallel() -> None:
    """Session a's first event waits until session b's last one was handled: only possible in
    parallel, and the results still come out in input order."""
    b_done = threading.Event()
    handled: dict[str, list[str]] = defaultdict(list)
    lines = [line(1, "a"), line(2, "b"), line(3, "a"), line(4, "b"), line(5, "a")]
    assert worker_for({"session": {"id": "a"}}, 4) != worker_for({"session": {"id": "b"}}, 4)

    def handle(event: Mapping[str, Any]) -> dict[str, Any]:
        session = event["session"]["id"]
        if event["id"] == "e1":
            assert b_done.wait(10), "session b was not handled in parallel"
        handled[session].append(event["id"])
        if event["id"] == "e4":
            b_done.set()
        return {"event_id": event["id"]}

    emitted = collect(lines, handle, workers=4)
    assert [r.outcome["event_id"] for r in emitted if r.outcome] == ["e1", "e2", "e3", "e4", "e5"]
    assert [r.line_no for r in emitted] == [1, 2, 3, 4, 5]
    assert handled == {"a": ["e1", "e3", "e5"], "b": ["e2", "e4"]}


def test_rejections_keep_their_line_numbers_and_blank_lines_are_skipped() -> None:
    def handle(event: Mapping[str, Any]) -> dict[str, Any]:
        if event["session"]["id"] == "bad":
            raise Rejected("session.channel: Must be one of: call, chat.")
        return {"event_id": event["id"]}

    lines = [line(1, "a"), b"[1, 2]\n", b"\n", line(4, "bad"), b"{oops\n", line(6, "a")]
    emitted = collect(lines, handle, workers=2)
    assert [(r.line_no, r.rejected) for r in emitted if r.rejected] == [
        (2, "event: must be a JSON object, not list"),
        (4, "session.channel: Must be one of: call, chat."),
        (5, "event: not valid JSON: Expecting property name enclosed in double quotes (column 2)"),
    ]
    assert [r.line_no for r in emitted] == [1, 2, 4, 5, 6]


def test_an_unexpected_error_stops_the_run_after_emitting_what_was_handled() -> None:
    def handle(event: Mapping[str, Any]) -> dict[str, Any]:
        if event["id"] == "e3":
            raise RuntimeError("database is locked")
        return {"event_id": event["id"]}

    emitted = collect([line(n, "a") for n in range(1, 7)], handle, workers=1)
    assert [r.outcome["event_id"] for r in emitted if r.outcome] == ["e1", "e2"]
    assert [(r.line_no, r.error) for r in emitted if r.error] == [(3, "RuntimeError: database is locked")]
    assert all(r.not_handled for r in emitted[3:])


def test_an_emit_failure_is_raised_once_the_threads_are_done() -> None:
    def emit(result: LineResult) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        run([line(n, "a") for n in range(1, 50)], lambda e: {}, emit, rejection=Rejected, workers=3, window=4)


def test_the_reader_stays_at_most_a_window_ahead_of_the_writer() -> None:
    """The first event is held back; the reader must stop reading, not buffer the whole input."""
    window = 5
    read = 0
    emitted = 0
    most_ahead = 0
    far_ahead = threading.Event()

    def lines() -> Iterator[bytes]:
        nonlocal read, most_ahead
        for n in range(1, 101):
            read += 1
            most_ahead = max(most_ahead, read - emitted)
            if read > window + 2:
                far_ahead.set()
            yield line(n, f"s{n}")

    def handle(event: Mapping[str, Any]) -> dict[str, Any]:
        if event["id"] == "e1":
            far_ahead.wait(0.3)  # returns at once if the reader runs away; the assertion then fails
        return {}

    def emit(result: LineResult) -> None:
        nonlocal emitted
        emitted += 1

    run(lines(), handle, emit, rejection=Rejected, workers=4, window=window)
    assert emitted == 100
    assert most_ahead <= window + 2


def test_parse_line_and_worker_routing() -> None:
    assert parse_line(b'{"id": "e1"}') == {"id": "e1"}
    assert parse_line(b"\xff\n") == "event: not valid UTF-8"
    same = {"session": {"id": "call-9"}}
    assert worker_for(same, 8) == worker_for(dict(same), 8)
    assert worker_for({"session": "not an object"}, 8) == worker_for({}, 8)


@pytest.mark.parametrize(
    ("reason", "rules"),
    [
        ("appended to open record 4 (rule 1); the consumer sent 2 of 2 messages (rule 4)", ["rule 1", "rule 4"]),
        ("abandoned call: only calls connected ... is on (rules 3 and 5)", ["rule 3", "rule 5"]),
        ("new record: no open record; the call was assigned to an agent", ["other"]),
        ("event e1 was handled before (first outcome: created)", ["other"]),
    ],
)
def test_deciding_rules_are_read_from_the_reason(reason: str, rules: list[str]) -> None:
    assert deciding_rules(reason) == rules


def test_summary_counts_and_acceptance() -> None:
    summary = ReplaySummary()
    summary.add({"action": "queued", "reason": "the CRM could not be reached (rule 5)"})
    summary.add({"action": "created", "reason": "x (rule 1); y (rule 5)"})
    assert summary.all_accepted
    summary.add({"action": "failed", "reason": "the CRM refused the operation"})
    assert not summary.all_accepted
    text = summary.render()
    assert "3 events handled, 0 lines rejected" in text
    assert "created 1, appended 0, reopened 0, deferred 0, skipped 0, duplicate 0, queued 1, failed 1" in text
    assert "deciding rules: rule 1: 1, rule 5: 2, other: 1" in text
    rejected_only = ReplaySummary(rejected=1)
    assert not rejected_only.all_accepted


def test_explanations_follow_the_settings() -> None:
    delayed = RecordCreationSettings(delay_call_until_connected=True, create_for_abandoned_calls=True)
    assert calls(delayed) == (
        "calls: a record when the call connects to an agent (rule 3); "
        "abandoned calls get no record, as only connected calls do (rules 3 and 5)"
    )
    two = RecordCreationSettings(delay_chat_until_consumer_messages=2, abandoned_chats="min_messages", abandoned_chat_min_messages=1)
    assert "the consumer sent 2 messages" in chats(two)
    assert "at least 1 message (rule 6)" in chats(two)
    assert "(rule 2)" not in existing_records(RecordCreationSettings(append_to_open_record=True))
    assert "last 3 days" in existing_records(RecordCreationSettings(append_to_open_record=True, append_to_closed_within_days=3))
