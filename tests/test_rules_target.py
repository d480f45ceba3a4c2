"""Rules 1 and 2 as pure functions: ``closed_since``, ``pick_record`` and ``choose_target``.

SPEC section 3: among the end user's records from this leaf queue, the newest open one; if none is
open and rule 2 is on, the one closed most recently within N × 24 h (inclusive) of the event's
``at`` — a record closed after the event counts as inside; else a new record. Rule 2 has effect
only with rule 1; anonymous sessions always get a new record.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from crmhub.core.models import CrmRecord, EndUser, LeafQueue, Session
from crmhub.core.rules import choose_target, closed_since, needs_lookup, pick_record
from crmhub.core.settings import RecordCreationSettings

AT = datetime(2026, 11, 25, 9, 30, 5, tzinfo=timezone.utc)
DAY = timedelta(days=1)
QUEUE = LeafQueue("q-42", ("Support", "Billing", "Refunds"))
ADA = EndUser(id="u-7", phone="+14155550100", email="ada@example.com")


def opened(record_id: str, created: datetime) -> CrmRecord:
    return CrmRecord("local", record_id, "open", "open", created_at=created, leaf_queue_id=QUEUE.id)


def closed(record_id: str, closed_at: datetime, created: datetime | None = None) -> CrmRecord:
    created = created or closed_at - timedelta(hours=1)
    return CrmRecord(
        "local", record_id, "closed", "closed", closed_at=closed_at, created_at=created, leaf_queue_id=QUEUE.id
    )


def session(end_user: EndUser | None = ADA, queue: LeafQueue | None = QUEUE) -> Session:
    return Session(id="call-2", channel="call", leaf_queue=queue, end_user=end_user)


def rules(append: bool = True, days: int = 0) -> RecordCreationSettings:
    return RecordCreationSettings(append_to_open_record=append, append_to_closed_within_days=days)


# --- the window ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "append, days, expected",
    [
        (True, 0, None),
        (False, 3, None),  # rule 2 has effect only when rule 1 is on
        (False, 0, None),
        (True, 1, AT - DAY),
        (True, 3, AT - 3 * DAY),
    ],
)
def test_closed_since_is_n_times_24_hours_before_the_event(append, days, expected):
    assert closed_since(rules(append, days), AT) == expected


WINDOW = [
    # (close time relative to the event, expected target with a 3-day window)
    (-(2 * DAY), "reopen"),  # one day inside
    (-(4 * DAY), "create"),  # one day outside
    (-(3 * DAY), "reopen"),  # exactly at the boundary: inclusive
    (-(3 * DAY) - timedelta(microseconds=1), "create"),
    (-(3 * DAY) + timedelta(seconds=1), "reopen"),
    (timedelta(hours=5), "reopen"),  # closed after the event's time counts as inside
    (timedelta(0), "reopen"),
]


@pytest.mark.parametrize("offset, expected", WINDOW)
def test_rule_2_window_from_close_time_to_event_time(offset, expected):
    record = closed("11", AT + offset)
    found = pick_record([record], closed_since(rules(days=3), AT))
    choice = choose_target(session(), found, rules(days=3), AT)
    assert choice.target == expected
    assert choice.record == (record if expected == "reopen" else None)
    if expected == "reopen":
        assert "rule 2" in choice.reason and "11" in choice.reason


def test_the_window_holds_across_utc_offsets():
    """N × 24 h is measured between instants, whatever offset either time is written in."""
    berlin = timezone(timedelta(hours=1))
    record = closed("11", (AT - 3 * DAY).astimezone(berlin))
    assert pick_record([record], closed_since(rules(days=3), AT.astimezone(timezone(timedelta(hours=-8))))) == record


@pytest.mark.parametrize("offset", [-(2 * DAY), -(4 * DAY), timedelta(hours=1)])
def test_rule_2_without_rule_1_has_no_effect(offset):
    no_rule_1 = rules(append=False, days=3)
    record = closed("11", AT + offset)
    assert pick_record([record], closed_since(no_rule_1, AT)) is None
    choice = choose_target(session(), record, no_rule_1, AT)
    assert (choice.target, choice.record) == ("create", None)
    assert "rule 1" in choice.reason


def test_rule_1_without_rule_2_never_reopens():
    record = closed("11", AT - timedelta(minutes=1))
    assert pick_record([record], closed_since(rules(days=0), AT)) is None
    assert choose_target(session(), record, rules(days=0), AT).target == "create"


# --- which record -------------------------------------------------------------------------------


def test_newest_open_wins_over_older_open():
    older, newer = opened("5", AT - 2 * DAY), opened("6", AT - DAY)
    for order in ([older, newer], [newer, older]):
        assert pick_record(order, None) == newer
        assert pick_record(order, AT - 10 * DAY) == newer


def test_open_wins_over_a_record_closed_in_the_window():
    old_open = opened("5", AT - 9 * DAY)
    just_closed = closed("6", AT - timedelta(minutes=1), created=AT - DAY)
    assert pick_record([just_closed, old_open], closed_since(rules(days=3), AT)) == old_open
    assert choose_target(session(), old_open, rules(days=3), AT).target == "append"


def test_the_record_closed_most_recently_within_the_window_wins():
    early, late = closed("7", AT - 2 * DAY), closed("8", AT - DAY)
    outside = closed("9", AT - 5 * DAY, created=AT)  # newest created, but outside the window
    for candidates in ([early, late, outside], [outside, late, early]):
        assert pick_record(candidates, closed_since(rules(days=3), AT)) == late


def test_no_candidates_means_a_new_record():
    assert pick_record([], AT - DAY) is None
    choice = choose_target(session(), None, rules(days=3), AT)
    assert choice.target == "create"
    assert choice.reason == "new record: no open record for this end user in leaf queue q-42"


def test_the_pick_does_not_depend_on_the_order_the_crm_lists_records_in():
    same_time = AT - DAY
    candidates = [opened(str(i), same_time) for i in range(1, 13)] + [closed("99", AT - timedelta(hours=2))]
    picks = set()
    for seed in range(20):
        shuffled = candidates[:]
        random.Random(seed).shuffle(shuffled)
        picks.add(pick_record(shuffled, AT - 3 * DAY))
    assert len(picks) == 1


def test_a_record_without_created_at_counts_as_oldest():
    undated = CrmRecord("local", "1", "open", "open")
    dated = opened("2", AT - 30 * DAY)
    assert pick_record([undated, dated], None) == dated


# --- who gets a lookup at all ---------------------------------------------------------------------


@pytest.mark.parametrize("anonymous", [None, EndUser(), EndUser(name="Just A Name")])
def test_anonymous_sessions_always_get_a_new_record(anonymous):
    anon = session(end_user=anonymous)
    assert not needs_lookup(anon, rules(days=3))
    choice = choose_target(anon, opened("5", AT - DAY), rules(days=3), AT)
    assert (choice.target, choice.record) == ("create", None)
    assert "anonymous" in choice.reason


@pytest.mark.parametrize("end_user", [EndUser(id="u-1"), EndUser(phone="+14155550100"), EndUser(email="a@b.example")])
def test_any_one_of_id_phone_email_makes_a_known_end_user(end_user):
    assert needs_lookup(session(end_user=end_user), rules())
    assert choose_target(session(end_user=end_user), opened("5", AT), rules(), AT).target == "append"


def test_no_lookup_while_rule_1_is_off():
    assert not needs_lookup(session(), rules(append=False, days=3))


def test_open_record_found_is_appended_with_a_reason_naming_rule_1():
    record = opened("5", AT - DAY)
    choice = choose_target(session(), record, rules(), AT)
    assert (choice.target, choice.record) == ("append", record)
    assert "rule 1" in choice.reason and "q-42" in choice.reason
