"""The dispatcher: one event in, one outcome out, with the rule engine, the store and the CRM.

Each event is handled in at most two store transactions:

1. decide — duplicate check, rule engine, and either the final outcome (deferred, skipped,
   queued behind earlier work) or a journal mark that a CRM write is starting (``in_flight``);
2. record — after the CRM calls, the record, the outcome and the index entry, together.

A session whose ``in_flight`` mark is found set again (a crash or an unknown outcome) is first
reconciled with ``find_record_for_session`` so that a retry never makes a second record. Events
the CRM could not take are kept as work, in arrival order per session, and later events of that
session queue behind them; :meth:`Dispatcher.retry_queued` runs them again.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from crmhub.core.backoff import Backoff
from crmhub.core.describe import describe_session, record_tags, render_title
from crmhub.core.errors import CrmError, InvalidEvent, TransientCrmError, UnknownOutcomeError
from crmhub.core.dry_run import DryRunCrm
from crmhub.core.events import parse_event
from crmhub.core.facade import CrmHooks
from crmhub.core.identity import end_user_key
from crmhub.core.locks import KeyedLocks
from crmhub.core.models import CrmRecord, Event, NewRecord, RecordQuery, Session, SessionNote
from crmhub.core.outcomes import Outcome
from crmhub.core.rules import Decision, SessionState, choose_target, closed_since, decide, needs_lookup, start_state
from crmhub.core.session_types import SessionTypeCatalogue
from crmhub.core.settings import Settings, load_settings
from crmhub.core.store import Store, WorkItem, open_store

log = logging.getLogger("crmhub.dispatcher")


@dataclass(frozen=True)
class SessionStatus:
    """A session's current state and record, as :meth:`Dispatcher.session` reports it."""

    session_id: str
    state: SessionState
    queued_events: int

    def to_dict(self) -> dict[str, Any]:
        state = self.state
        return {
            "session_id": self.session_id,
            "channel": state.channel,
            "assigned": state.assigned,
            "connected": state.connected,
            "consumer_messages": state.consumer_messages,
            "finished": state.finished,
            "record": state.record.to_dict() if state.record else None,
            "queued_events": self.queued_events,
        }


class Dispatcher:
    """Handles host events. Safe to call from several threads at once (see the README)."""

    def __init__(
        self, settings: Settings, plugins: Any, store: Store, *, dry_run: bool = False,
        backoff: Backoff | None = None, clock: Callable[[], datetime] | None = None,
    ):
        """``backoff`` paces the retries of queued work (default: base 1 s, factor 2, cap 300 s);
        ``clock`` is the wall clock it counts from (UTC ``datetime``)."""
        self.backoff = backoff or Backoff()
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.settings = settings
        self.rules = settings.record_creation
        self.plugins = plugins
        real_crm = plugins.hooks.for_crm(settings.crm)
        self.crm: CrmHooks | DryRunCrm = DryRunCrm(real_crm) if dry_run else real_crm
        self.dry_run = dry_run
        self.client = self.crm.client(settings.crm_settings, settings.config_dir)
        self.store = store
        self.catalogue = SessionTypeCatalogue(settings.session_types)
        self._locks = KeyedLocks()

    @classmethod
    def from_config(
        cls,
        source: str | os.PathLike[str] | Mapping[str, Any],
        *,
        plugins: Any = None,
        environ: Mapping[str, str] | None = None,
        dry_run: bool = False,
        backoff: Backoff | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> "Dispatcher":
        """Build a dispatcher from a settings file path or an already-parsed mapping.

        With ``dry_run`` the dispatcher decides on a throw-away copy of the store and sends no
        write to the CRM (see :mod:`crmhub.core.dry_run`); outcomes carry the planned calls.
        """
        from crmhub.plugins import load_plugins

        plugins = plugins if plugins is not None else load_plugins(environ)
        settings = load_settings(source, settings_schema_lookup(plugins.hooks), environ)
        for warning in settings.warnings:
            log.warning(warning)
        store = open_store(settings.store_url, scratch_copy=dry_run)
        return cls(settings, plugins, store, dry_run=dry_run, backoff=backoff, clock=clock)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "Dispatcher":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the host's API ------------------------------------------------------------------------

    def handle(self, event: Mapping[str, Any]) -> Outcome:
        """Handle one event; raise :class:`~crmhub.InvalidEvent` (nothing written) if malformed."""
        parsed = parse_event(event)
        with self._session_lock(parsed.session_id):
            return self._handle(parsed, dict(event), work_seq=None)

    def next_due(self) -> datetime | None:
        """When the earliest queued session is due again (now or past: at once), or None if none waits."""
        with self.store.transaction() as tx:
            work = tx.pending_work()
        heads: dict[str, datetime] = {}
        for item in work:
            heads.setdefault(item.session_id, item.not_before or datetime.min.replace(tzinfo=timezone.utc))
        return min(heads.values(), default=None)

    def session(self, session_id: str) -> SessionStatus | None:
        """The session's current state and record, or None if no event of it was accepted."""
        with self.store.transaction() as tx:
            state = tx.get_session(session_id)
            queued = len(tx.pending_work(session_id))
        if state is None and not queued:
            return None
        return SessionStatus(session_id, state or SessionState({"id": session_id, "channel": "?"}), queued)

    def retry_queued(self, now: datetime | None = None, *, stop: threading.Event | None = None) -> list[Outcome]:
        """Run queued events that are due at ``now`` (default: the clock) again, in arrival order
        per session; stop a session at its first event that is not due yet or that the CRM still
        cannot take, and everything once ``stop`` is set. Returns the outcome of every event run."""
        now = now or self.clock()
        with self.store.transaction() as tx:
            work = tx.pending_work()
        outcomes: list[Outcome] = []
        blocked: set[str] = set()
        for item in work:
            if stop is not None and stop.is_set():
                break
            if item.session_id in blocked:
                continue
            if item.not_before is not None and item.not_before > now:
                blocked.add(item.session_id)
                continue
            with self._session_lock(item.session_id):
                with self.store.transaction() as tx:  # another instance may have run it meanwhile
                    still_pending = any(w.seq == item.seq for w in tx.pending_work(item.session_id))
                if not still_pending:
                    continue
                outcome = self._run_work(item)
            outcomes.append(outcome)
            if outcome.action == "queued":
                blocked.add(item.session_id)
        return outcomes

    def _run_work(self, item: WorkItem) -> Outcome:
        """Run a queued event again. One that no longer reads as an event (a store edited by
        hand, or written by a version with other rules) is failed with the reason, so that the
        worker goes on with the rest of the queue instead of stopping at it on every pass."""
        try:
            event = parse_event(item.event)
        except InvalidEvent as error:
            outcome = Outcome(
                item.event_id, item.session_id, "failed", "the queued event can no longer be read", error=str(error)
            )
            with self.store.transaction() as tx:
                tx.retry_later(item.seq, str(error), status="failed")
                tx.mark_handled(item.event_id, item.session_id, outcome.to_dict())
            return outcome
        return self._handle(event, item.event, work_seq=item.seq)

    # --- locks -------------------------------------------------------------------------------------

    @contextmanager
    def _shared_lock(self, key: str | None) -> Iterator[None]:
        """Hold ``key`` in this process (threads) and in the store (other crmhub instances).

        Taken in one order only — a session first, then an end user's leaf queue — so that two
        holders never wait for each other.
        """
        if key is None:
            yield
            return
        with self._locks.hold(key), self.store.advisory_lock(key):
            yield

    def _session_lock(self, session_id: str) -> AbstractContextManager[None]:
        return self._shared_lock(f"session:{session_id}")

    # --- one event -----------------------------------------------------------------------------

    def _handle(self, event: Event, raw: dict[str, Any], work_seq: int | None) -> Outcome:
        with self.store.transaction() as tx:
            if work_seq is None:
                arrival = tx.arrival(event.id, event.session_id)
                if arrival.first_outcome is not None:
                    return Outcome(
                        event.id, event.session_id, "duplicate",
                        f"event {event.id} was handled before (first outcome: {arrival.first_outcome['action']})",
                        record=arrival.state.record if arrival.state else None,
                    )
                if arrival.session_queued:
                    outcome = Outcome(
                        event.id, event.session_id, "queued",
                        "queued behind earlier events of this session that wait for the CRM",
                        record=arrival.state.record if arrival.state else None,
                    )
                    tx.enqueue(event.session_id, event.id, raw, error="")
                    tx.mark_handled(event.id, event.session_id, outcome.to_dict())
                    return outcome
                stored = arrival.state
            else:
                stored = tx.get_session(event.session_id)
            state = stored or start_state(event)
            if not state.in_flight:
                new_state, decision = decide(state, event, self.rules)
                if decision.verdict != "record":
                    action = "deferred" if decision.verdict == "defer" else "skipped"
                    outcome = Outcome(event.id, event.session_id, action, decision.reason, record=new_state.record)
                    tx.put_session(event.session_id, new_state)
                    self._settle(tx, event, outcome, work_seq)
                    return outcome
                session = new_state.session
                key = end_user_key(session.end_user)
                hint = tx.latest_record(key, session.leaf_queue.id) if key and session.leaf_queue else None
                tx.put_session(event.session_id, replace(state, in_flight=True))

        if state.in_flight:  # an earlier CRM write's result was lost: settle it first
            return self._reconcile(event, raw, state, work_seq)
        lock_key = f"end_user:{key}:{session.leaf_queue.id}" if key and session.leaf_queue else None
        with self._shared_lock(lock_key):
            try:
                record, action, reason = self._write_to_crm(event, new_state, decision, session, hint)
            except Exception as error:
                return self._not_written(event, raw, state, decision.reason, error, work_seq)
        extra = {"dry_run": True, "calls": self.crm.take_planned()} if isinstance(self.crm, DryRunCrm) else {}
        outcome = Outcome(
            event.id, event.session_id, action, reason, record=record, follow_up_of=record.follow_up_of, extra=extra
        )
        self._keep_record(event, new_state, record, outcome, work_seq)
        return outcome

    def _reconcile(self, event: Event, raw: dict[str, Any], state: SessionState, work_seq: int | None) -> Outcome:
        """Find the record a lost create may have made, before anything else happens to the session.

        Found: the session adopts it, and this event is decided as if it had been there (the event
        that was due a record reports ``created``). Not found: the mark is cleared and the event is
        handled afresh. The CRM cannot answer: the event waits (``queued``) or fails, mark kept.
        """
        settled = replace(state, in_flight=False)
        try:
            existing = self.crm.find_record_for_session(self.client, event.session_id)
        except Exception as error:
            return self._not_written(event, raw, state, "a lost CRM answer must be reconciled first", error, work_seq)
        if existing is None:
            with self.store.transaction() as tx:
                tx.put_session(event.session_id, settled)
            return self._handle(event, raw, work_seq)
        new_state, decision = decide(settled, event, self.rules)
        found = f"record {existing.id}, made by an earlier attempt whose answer was lost, was found and kept"
        if decision.verdict == "record":
            outcome = Outcome(event.id, event.session_id, "created", f"{decision.reason}; {found}", record=existing)
        else:
            outcome = Outcome(event.id, event.session_id, "skipped", f"the session already has {found}", record=existing)
        self._keep_record(event, new_state, existing, outcome, work_seq)
        return outcome

    def _keep_record(
        self, event: Event, new_state: SessionState, record: CrmRecord, outcome: Outcome, work_seq: int | None
    ) -> None:
        """Commit the session's record, the outcome and the index entry together."""
        session = new_state.session
        key = end_user_key(session.end_user)
        with self.store.transaction() as tx:
            tx.put_session(event.session_id, replace(new_state, record=record, in_flight=False))
            if key and session.leaf_queue:
                tx.remember_record(key, session.leaf_queue.id, record.id, event.at)
            self._settle(tx, event, outcome, work_seq)

    def _not_written(
        self, event: Event, raw: dict[str, Any], state: SessionState, why: str,
        error: Exception, work_seq: int | None,
    ) -> Outcome:
        """The CRM did not (knowingly) do the work: queue the event or fail it, keeping any lost-write mark.

        Either way the session stays as it was before the event, so that the event, run again,
        is applied once (a consumer message is never counted twice). A transient failure keeps
        the event ``pending`` (later events of the session queue behind it, in order); a permanent
        one keeps it ``failed``, out of the way: later events go on from the pre-event state, and
        a failed event put back in the queue (``crmhub queue retry``) is decided from the
        session's state at that time — skipped if the session has a record by then.
        """
        lost_write = state.in_flight or isinstance(error, UnknownOutcomeError)
        if isinstance(error, TransientCrmError):
            outcome = Outcome(
                event.id, event.session_id, "queued", f"{why}; the CRM could not be reached, the event will be retried",
                error=str(error),
                extra={"retry_after": error.retry_after} if error.retry_after is not None else {},
            )
            with self.store.transaction() as tx:
                tx.put_session(event.session_id, replace(state, in_flight=lost_write))
                not_before = self.backoff.due(self.clock(), self._attempts(tx, event, work_seq) + 1, error.retry_after)
                self._settle(tx, event, outcome, work_seq, raw=raw, error=str(error), not_before=not_before)
            return outcome
        if isinstance(error, CrmError):
            message = str(error)
        else:  # a plugin bug: fail this event only, and say whose
            message = f"{type(error).__name__} in plugin {self.crm.plugin_name!r}: {error}"
            log.exception("plugin %s failed on event %s", self.crm.plugin_name, event.id)
        outcome = Outcome(
            event.id, event.session_id, "failed", f"{why}; the CRM refused the operation", error=message
        )
        with self.store.transaction() as tx:
            tx.put_session(event.session_id, replace(state, in_flight=lost_write))
            self._settle(tx, event, outcome, work_seq, raw=raw, error=message, failed=True)
        return outcome

    def _write_to_crm(
        self, event: Event, new_state: SessionState, decision: Decision, session: Session, hint: str | None
    ) -> tuple[CrmRecord, str, str]:
        """The CRM calls for a session that needs a record: (record, action, reason)."""
        found = None
        if needs_lookup(session, self.rules):
            assert session.end_user is not None and session.leaf_queue is not None
            query = RecordQuery(
                end_user=session.end_user, leaf_queue=session.leaf_queue, at=event.at,
                closed_since=closed_since(self.rules, event.at), hint=hint, session_id=session.id,
            )
            found = self.crm.find_open_record(self.client, query)
        choice = choose_target(session, found, self.rules, event.at)
        reason = f"{choice.reason}; {decision.reason}"
        tags = record_tags(self.plugins.hooks, self.crm, self.catalogue, session, self.rules)
        if choice.target == "create":
            new = NewRecord(
                session=session,
                title=render_title(session, self.rules, self.catalogue, new_state.first_event_at),
                description=describe_session(session, self.catalogue, decision.reason),
                tags=tuple(tags),
                idempotency_key=f"crmhub-{session.id}",
                at=event.at,
            )
            return self.crm.create_record(self.client, new), "created", reason
        assert choice.record is not None
        note = SessionNote(
            session=session, text=describe_session(session, self.catalogue, decision.reason),
            tags=tuple(tags), at=event.at, idempotency_key=f"crmhub-{session.id}",
        )
        if choice.target == "append":
            return self.crm.append_session(self.client, choice.record, note), "appended", reason
        record = self.crm.reopen(self.client, choice.record, note)
        if record.follow_up_of:
            return record, "created", (
                f"new follow-up record of record {record.follow_up_of}, which is closed and cannot be "
                f"reopened in the CRM (rule 2); {decision.reason}"
            )
        return record, "reopened", reason

    @staticmethod
    def _attempts(tx: Any, event: Event, work_seq: int | None) -> int:
        """How many attempts the event's work item has already failed (0 for a new event)."""
        if work_seq is None:
            return 0
        return next((w.attempts for w in tx.pending_work(event.session_id) if w.seq == work_seq), 0)

    @staticmethod
    def _settle(
        tx: Any, event: Event, outcome: Outcome, work_seq: int | None, *,
        raw: dict[str, Any] | None = None, error: str | None = None, failed: bool = False,
        not_before: datetime | None = None,
    ) -> None:
        """Record an outcome, and what becomes of the event as work (kept, retried from
        ``not_before``, done)."""
        tx.mark_handled(event.id, event.session_id, outcome.to_dict())
        if work_seq is not None:
            if outcome.action == "queued":
                tx.retry_later(work_seq, error or "", not_before=not_before)
            elif failed:
                tx.retry_later(work_seq, error or "", status="failed")
            else:
                tx.finish_work(work_seq)
        elif outcome.action == "queued" or failed:
            tx.enqueue(
                event.session_id, event.id, raw or event.raw, error or "",
                status="failed" if failed else "pending", not_before=not_before,
            )


def settings_schema_lookup(hooks: Any) -> Any:
    """``crm → schema`` for :func:`load_settings`, None for a CRM no plugin provides."""
    crms = hooks.crm_plugins()

    def lookup(crm: str) -> Any:
        return hooks.for_crm(crm).settings_schema() if crm in crms else None

    return lookup
