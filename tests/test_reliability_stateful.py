"""A hypothesis state machine over the Dispatcher and a CRM that fails on command, checked against
a reference model of SPEC's rules.

The machine plays the host: it sends each session's events, in order or with a later event
before an earlier one (a reordering), redelivers events, arms CRM faults (rate limited, answer
lost, refused for good, process killed before or after the CRM did the work), restarts the
dispatcher, runs the queue (a worker) and puts failed work back (an operator).

The model is written from SPEC alone: nothing it expects is read from crmhub's store or outcomes.
Per event it knows what the host knows: accepted (``handle`` returned an outcome) or not (the
process died before answering: the host redelivers it, and it arrives anew). Of an outcome it uses
only what SPEC says the host may rely on — ``queued``: kept and retried in arrival order, the
session's later events queued behind it; ``failed``: kept aside, later events go on without it, and
it is decided when put back — which fixes the order in which crmhub must decide each session's
events. (After a worker is killed mid-run, the queue listing tells which queued events it ran.)
The model applies SPEC section 3 in that order: a call's record is due at assignment (at
connection with ``delay_call_until_connected``), a chat's once it is assigned and its consumer
sent N messages; an event that arrives after the session ended changes nothing ("decisions are
final on arrival"). Of the CRM it knows one fact: a create whose answer crmhub never got (answer
lost, process killed after the CRM's work). SPEC 9: such a record is reconciled, not made again —
it becomes the session's record when crmhub next decides an event of that session, which reports
``created`` if the rules call for a record at that event, else ``skipped``.

Checked at every step: each decided event's action (``created``, ``deferred``, ``skipped``), the
record every outcome carries (the session's one CRM record once it has one, none before),
``duplicate`` for every redelivery of an accepted event, queued work run in arrival order, and
the CRM's records (exactly the sessions the model says have one, none twice). At the end (faults
healed, unanswered events redelivered, failed work put back, the queue drained) every session has
exactly the records the rules call for, and ``Dispatcher.session`` reports it.
"""

from __future__ import annotations

import bisect
import os
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from crmhub import Dispatcher
from crmhub.core.errors import PermanentCrmError, TransientCrmError, UnknownOutcomeError
from crmhub.core.hookspecs import hookimpl
from crmhub.core.outcomes import Outcome
from crmhub.local_records import LocalRecords
from tests.eventkit import EventFactory, end_user
from tests.flaky_crm import AFTER_ANY_BACKOFF, Crash, Failure, FlakyCrm, flaky_plugins, flaky_settings
from tests.reliability_report import count

CALL_STEPS = ("assigned", "connected", "ended")
CHAT_STEPS = ("consumer_message", "assigned", "agent_message", "consumer_message", "ended")
SESSIONS = {"call-0": CALL_STEPS, "call-1": CALL_STEPS, "chat-0": CHAT_STEPS}
FAULTS: dict[str, tuple[Callable[[], BaseException], bool]] = {  # name: (the error, raised after the work?)
    "rate_limited": (lambda: TransientCrmError("429 rate limited", retry_after=5), False),
    "answer_lost": (lambda: UnknownOutcomeError("timeout after the request was sent"), True),
    "refused": (lambda: PermanentCrmError("422 the CRM refused the record"), False),
    "killed_before": (Crash, False),
    "killed_after": (Crash, True),
}
HOOKS = ("create_record", "find_record_for_session")  # with appending off, the only CRM calls crmhub makes
FAULT_OR_NONE = st.none() | st.tuples(st.sampled_from(sorted(FAULTS)), st.sampled_from(HOOKS))


@dataclass(frozen=True)
class Rules:
    """The record-creation settings a run uses (the others keep SPEC's defaults)."""

    delay_call_until_connected: bool
    delay_chat_until_consumer_messages: int


@dataclass
class SessionModel:
    """SPEC section 3 for one session, fed its events in the order crmhub must decide them."""

    channel: str
    assigned: bool = False
    connected: bool = False
    consumer_messages: int = 0
    finished: bool = False
    has_record: bool = False

    def calls_for_record(self, step: str, rules: Rules) -> bool:
        """Apply one event; True if the rules call for the session's record at this event."""
        if self.has_record or self.finished:
            return False  # decided: the record is made, or the session ended without one
        if step == "ended":
            self.finished = True
            return False
        self.assigned = self.assigned or step in ("assigned", "connected")  # connected implies assigned
        self.connected = self.connected or step == "connected"
        self.consumer_messages += step == "consumer_message"
        if self.channel == "call":
            return self.connected or (self.assigned and not rules.delay_call_until_connected)
        return self.assigned and self.consumer_messages >= rules.delay_chat_until_consumer_messages


class NonIdempotentCrm(FlakyCrm):
    """The flaky local CRM, seen as a CRM without idempotent creates: the local CRM quietly
    returns a session's first record on a second create, which would hide a duplicate, so every
    create for a session that already has a record is counted as the duplicate it would make."""

    def __init__(self) -> None:
        super().__init__()
        self.duplicate_creates: Counter[str] = Counter()

    @hookimpl
    def create_record(self, client: LocalRecords, record: Any) -> Any:
        if client.by_session(record.session_id) is not None:
            self.duplicate_creates[record.session_id] += 1
        return super().create_record(client, record)


class DispatcherMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="crmhub-stateful-"))
        self.crm = NonIdempotentCrm()
        self.plugins = flaky_plugins(self.crm)
        self.records = LocalRecords(self.folder / "records.db")  # the CRM's side, read directly
        factory = EventFactory()
        self.unsent: dict[str, list[dict[str, Any]]] = {}
        self.step_of: dict[str, tuple[str, str]] = {}  # event id -> (session id, step)
        for session, steps in SESSIONS.items():
            events = factory.session(session.split("-")[0], session, end_user=end_user(f"u-{session}"))
            self.unsent[session] = [self._build(events, step) for step in steps]
        self.sent: list[dict[str, Any]] = []
        self.unanswered: dict[str, dict[str, Any]] = {}  # sent, no answer yet: the host redelivers
        self.accepted: dict[str, int] = {}  # event id -> arrival rank among accepted events
        self.waiting: dict[str, list[str]] = {s: [] for s in SESSIONS}  # queued, in arrival order
        self.set_aside: dict[str, list[str]] = {s: [] for s in SESSIONS}  # failed, until put back
        self.unadopted: set[str] = set()  # sessions with a CRM record whose create crmhub never heard of
        self.failures_seen = 0
        self.figures = Counter[str]()
        self.rules = Rules(False, 0)
        self.model = {s: SessionModel(s.split("-")[0]) for s in SESSIONS}
        self.dispatcher: Dispatcher | None = None

    def _build(self, events: Any, step: str) -> dict[str, Any]:
        event = {
            "assigned": events.assigned,
            "connected": events.connected,
            "ended": events.ended,
            "consumer_message": lambda: events.message(sender="end_user"),
            "agent_message": lambda: events.message(sender="agent"),
        }[step]()
        self.step_of[event["id"]] = (events.id, step)
        return event

    def _open(self) -> Dispatcher:
        rules = {
            "delay_call_until_connected": self.rules.delay_call_until_connected,
            "delay_chat_until_consumer_messages": self.rules.delay_chat_until_consumer_messages,
        }
        return Dispatcher.from_config(flaky_settings(self.folder, **rules), plugins=self.plugins, environ={})

    # --- the model ---------------------------------------------------------------------------------

    def _decide(self, event_id: str) -> str:
        """The action SPEC calls for when crmhub decides this event now."""
        session, step = self.step_of[event_id]
        model = self.model[session]
        if model.has_record:
            return "skipped"
        calls_for_record = model.calls_for_record(step, self.rules)
        if calls_for_record or session in self.unadopted:  # a lost create's record is found, and kept
            model.has_record = True
            self.unadopted.discard(session)
            return "created" if calls_for_record else "skipped"
        return "skipped" if model.finished else "deferred"

    def _new_failures(self) -> list[Failure]:
        """The CRM failures since the last look; lost creates are noted *after* the outcomes of
        the call they happened in, since the event that made one was not decided in that call."""
        failures = self.crm.failures[self.failures_seen:]
        self.failures_seen = len(self.crm.failures)
        return failures

    def _note_lost_creates(self, failures: list[Failure]) -> None:
        for failure in failures:
            if failure.hook == "create_record" and failure.work_done:
                self.unadopted.add(failure.args[1].session_id)

    def _name(self, event_id: str) -> str:
        session, step = self.step_of[event_id]
        return f"{step} {event_id} of {session}"

    def _check_record(self, session: str, outcome: Outcome, what: str) -> None:
        """SPEC 2: once a session has a record, every outcome for it carries that record; none before."""
        found = self.records.by_session(session)
        expected = str(found.id) if found is not None and self.model[session].has_record else None
        carried = outcome.record.id if outcome.record is not None else None
        assert carried == expected, f"{what}: the outcome carries record {carried}, the session's is {expected}"

    # --- the host ----------------------------------------------------------------------------------

    def _deliver(self, event: dict[str, Any]) -> None:
        self.figures["events"] += 1
        try:
            outcome = self.dispatcher.handle(event)
        except Crash:
            self.figures["crashes"] += 1
            self.unanswered[event["id"]] = event
            self._note_lost_creates(self._new_failures())
            self.restart()
            return
        failures = self._new_failures()
        self._answered(event["id"], outcome, failures)
        self._note_lost_creates(failures)

    def _answered(self, event_id: str, outcome: Outcome, failures: list[Failure]) -> None:
        session, _ = self.step_of[event_id]
        what = self._name(event_id)
        assert (outcome.event_id, outcome.session_id) == (event_id, session), what
        if event_id in self.accepted:
            assert outcome.action == "duplicate", f"{what} was accepted before: {outcome.action}, not duplicate"
            self._check_record(session, outcome, what)
            return
        assert outcome.action != "duplicate", f"{what}: duplicate, but no outcome of it was ever given"
        self.accepted[event_id] = len(self.accepted)
        self.unanswered.pop(event_id, None)
        if self.waiting[session]:
            assert outcome.action == "queued", f"{what}: {outcome.action}, but earlier events of it are queued"
            self.waiting[session].append(event_id)
        elif outcome.action == "queued":
            assert any(isinstance(f.error, TransientCrmError) for f in failures), f"{what}: queued with no CRM fault"
            self.waiting[session].append(event_id)
        elif outcome.action == "failed":
            assert any(isinstance(f.error, PermanentCrmError) for f in failures), f"{what}: failed with no refusal"
            self.set_aside[session].append(event_id)
        else:
            expected = self._decide(event_id)
            assert outcome.action == expected, f"{what}: {outcome.action}, SPEC calls for {expected} ({outcome.reason})"
        self._check_record(session, outcome, what)

    def _ran_queued(self, outcomes: list[Outcome], failures: list[Failure]) -> None:
        """Outcomes of a worker run: each session's queued events in arrival order, stopping at
        one the CRM still cannot take."""
        stopped: set[str] = set()
        for outcome in outcomes:
            session = outcome.session_id
            what = f"queued {self._name(outcome.event_id)}"
            assert session not in stopped, f"{what} ran after an earlier event of its session was queued again"
            assert self.waiting[session][:1] == [outcome.event_id], f"{what} ran out of arrival order"
            if outcome.action == "queued":
                assert any(isinstance(f.error, TransientCrmError) for f in failures), f"{what}: queued with no fault"
                stopped.add(session)
            elif outcome.action == "failed":
                assert any(isinstance(f.error, PermanentCrmError) for f in failures), f"{what}: failed with no refusal"
                self.set_aside[session].append(self.waiting[session].pop(0))
            else:
                self.waiting[session].pop(0)
                expected = self._decide(outcome.event_id)
                assert outcome.action == expected, f"{what}: {outcome.action}, SPEC calls for {expected}"
            self._check_record(session, outcome, what)

    def _worker_killed(self) -> None:
        """The worker died mid-run, its outcomes unseen: the queue listing (``crmhub queue list``)
        tells which queued events it ran; the model decides their effect itself."""
        with self.dispatcher.store.transaction() as tx:
            still_pending = [w.event_id for w in tx.pending_work()]
            now_failed = {w.event_id for w in tx.failed_work()}
        for session, queue in self.waiting.items():
            while queue and queue[0] not in still_pending:
                event_id = queue.pop(0)
                if event_id in now_failed:
                    self.set_aside[session].append(event_id)
                else:
                    self._decide(event_id)
        for session, queue in self.waiting.items():
            listed = [e for e in still_pending if self.step_of[e][0] == session]
            assert listed == queue, f"{session}: queue {listed} after a killed worker run, accepted and waiting {queue}"

    # --- rules -------------------------------------------------------------------------------------

    @initialize(delay_call=st.booleans(), chat_messages=st.sampled_from([0, 2]))
    def open_dispatcher(self, delay_call: bool, chat_messages: int) -> None:
        self.rules = Rules(delay_call, chat_messages)
        self.dispatcher = self._open()

    def _arm(self, fault: tuple[str, str] | None) -> None:
        """Make the CRM's next call of a hook fail (whenever crmhub makes it)."""
        if fault is not None:
            make_error, after = FAULTS[fault[0]]
            self.crm.fail(fault[1], make_error(), after=after)

    @precondition(lambda self: any(self.unsent.values()))
    @rule(session=st.sampled_from(sorted(SESSIONS)), fault=FAULT_OR_NONE)
    def next_event(self, session: str, fault: tuple[str, str] | None) -> None:
        if self.unsent[session]:
            self._arm(fault)
            event = self.unsent[session].pop(0)
            self.sent.append(event)
            self._deliver(event)

    @rule(session=st.sampled_from(sorted(SESSIONS)), later=st.integers(1, max(map(len, SESSIONS.values()))),
          fault=FAULT_OR_NONE)
    def later_event_first(self, session: str, later: int, fault: tuple[str, str] | None) -> None:
        """A reordering: a later event of the session (``later`` places on) reaches crmhub before the next one."""
        unsent = self.unsent[session]
        if len(unsent) > 1:
            self._arm(fault)
            event = unsent.pop(min(later, len(unsent) - 1))
            self.sent.append(event)
            self._deliver(event)

    @precondition(lambda self: bool(self.sent))
    @rule(data=st.data(), fault=FAULT_OR_NONE)
    def redeliver(self, data: st.DataObject, fault: tuple[str, str] | None) -> None:
        """The host sends an event again: one it got an answer for, or one it did not."""
        by_name = {self._name(event["id"]): event for event in self.sent}
        name = data.draw(st.sampled_from(sorted(by_name)), label="event")
        self._arm(fault)
        self._deliver(by_name[name])

    @rule()
    def restart(self) -> None:
        self.dispatcher.close()
        self.dispatcher = self._open()

    @rule(fault=FAULT_OR_NONE)
    def worker_runs_the_queue(self, fault: tuple[str, str] | None = None) -> None:
        self._arm(fault)
        try:
            outcomes = self.dispatcher.retry_queued(now=AFTER_ANY_BACKOFF)
        except Crash:
            self.figures["crashes"] += 1
            self.restart()
            self._worker_killed()
            self._note_lost_creates(self._new_failures())
            return
        failures = self._new_failures()
        self._ran_queued(outcomes, failures)
        self._note_lost_creates(failures)

    @rule()
    def operator_puts_failed_work_back(self) -> None:
        with self.dispatcher.store.transaction() as tx:
            requeued = tx.requeue_failed()
        assert len(requeued) == sum(map(len, self.set_aside.values())), "failed work was lost or made up"
        for session, event_ids in self.set_aside.items():
            for event_id in event_ids:  # back in the queue, in arrival order
                bisect.insort(self.waiting[session], event_id, key=self.accepted.__getitem__)
            event_ids.clear()

    @invariant()
    def records_match_the_model(self) -> None:
        assert not self.crm.duplicate_creates, f"duplicate creates: {dict(self.crm.duplicate_creates)}"
        found = Counter(r.session_id for r in self.records.all())
        assert dict(found) == {s: 1 for s in self._expected()}, (dict(found), sorted(self._expected()))

    def _expected(self) -> set[str]:
        return {s for s, model in self.model.items() if model.has_record} | self.unadopted

    # --- the end -----------------------------------------------------------------------------------

    def teardown(self) -> None:
        try:
            # hypothesis calls teardown from a ``finally``: after a failed step its error is in flight,
            # and settling would only pile a second report on the first
            if self.dispatcher is not None and sys.exc_info()[1] is None:
                self._settle_and_check()
        finally:
            if self.dispatcher is not None:
                self.dispatcher.close()
            shutil.rmtree(self.folder, ignore_errors=True)

    def _settle_and_check(self) -> None:
        """Faults off, the host redelivers what it got no answer for, the operator puts failed work
        back and the worker drains the queue: then every session has the records SPEC calls for."""
        self.crm.heal()
        for event in list(self.unanswered.values()):
            self._deliver(event)
        self.operator_puts_failed_work_back()
        self.worker_runs_the_queue()
        assert not self.unanswered and not any(self.waiting.values()) and not any(self.set_aside.values())
        with self.dispatcher.store.transaction() as tx:
            assert tx.pending_work() == [] and tx.failed_work() == []
        self.records_match_the_model()
        expected = self._expected()
        for session in SESSIONS:
            found = self.records.by_session(session)
            status = self.dispatcher.session(session)
            reported = status.state.record if status is not None else None
            assert (reported.id if reported else None) == (str(found.id) if found else None), session
        found_sessions = {r.session_id for r in self.records.all()}
        count(
            "stateful", events=self.figures["events"], faults=len(self.crm.failures),
            crashes=self.figures["crashes"], records_expected=len(expected), records_found=len(self.records.all()),
            duplicates=sum(self.crm.duplicate_creates.values()), lost=len(expected - found_sessions),
        )


# Shrinking a failure replays hundreds of runs (minutes): CI reports the failing run as it was found.
PHASES = tuple(p for p in Phase if not (p is Phase.shrink and os.environ.get("CI") == "true"))
DispatcherMachine.TestCase.settings = settings(
    max_examples=200, stateful_step_count=30, deadline=None, phases=PHASES,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestDispatcherMachine = DispatcherMachine.TestCase
