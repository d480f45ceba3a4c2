"""Ticket payloads → records, the leaf-queue and session marks, and the tag form."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from crmhub_freshdesk.marks import MAX_TAG_LENGTH, Marks, queue_tag, session_tag
from crmhub_freshdesk.plugin import format_tags
from crmhub_freshdesk.records import UnexpectedTicket, ticket_record

PORTAL = "https://acme.freshdesk.com"


def ticket(**fields: object) -> dict[str, object]:
    return {"id": 7, "status": 2, "created_at": "2026-11-20T10:00:07Z", "tags": [], **fields}


@pytest.mark.parametrize(
    ("status", "normalised", "crm_status"),
    [(2, "open", "open"), (3, "open", "pending"), (6, "open", "6"), (4, "closed", "resolved"), (5, "closed", "closed")],
)
def test_statuses(status: int, normalised: str, crm_status: str) -> None:
    record = ticket_record(ticket(status=status), PORTAL)
    assert (record.status, record.crm_status) == (normalised, crm_status)


def test_the_close_time_is_closed_at_else_resolved_at() -> None:
    both = {"resolved_at": "2026-11-22T08:50:00Z", "closed_at": "2026-11-22T09:00:00Z"}
    closed_at = ticket_record(ticket(status=5, stats=both), PORTAL).closed_at
    assert closed_at == datetime(2026, 11, 22, 9, tzinfo=timezone.utc)
    resolved = {"resolved_at": "2026-11-22T08:50:00Z", "closed_at": None}
    assert ticket_record(ticket(status=4, stats=resolved), PORTAL).closed_at == datetime(
        2026, 11, 22, 8, 50, tzinfo=timezone.utc
    )
    assert ticket_record(ticket(status=4), PORTAL).closed_at is None  # read without include=stats
    assert ticket_record(ticket(status=2, stats=both), PORTAL).closed_at is None  # open again


def test_the_record_links_to_the_agent_view() -> None:
    record = ticket_record(ticket(), PORTAL, "q-42")
    assert (record.id, record.url, record.leaf_queue_id) == ("7", f"{PORTAL}/a/tickets/7", "q-42")
    assert record.created_at == datetime(2026, 11, 20, 10, 0, 7, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {"status": 2},
        {"id": "7", "status": 2},
        {"id": 7, "status": "open"},
        {"id": 7, "status": 2, "created_at": "yesterday"},
        {"id": 7, "status": 5, "stats": {"closed_at": 12}},
    ],
)
def test_a_payload_that_is_not_a_ticket_is_refused(payload: object) -> None:
    with pytest.raises(UnexpectedTicket):
        ticket_record(payload, PORTAL)


def test_mark_tags_are_readable_when_they_fit() -> None:
    assert queue_tag("q-42") == "crmhub-queue-q-42"
    assert session_tag("call-1001") == "crmhub-session-call-1001"


@pytest.mark.parametrize("session_id", ["3f2b8c1e-9d4a-4e6b-8c2f-1a2b3c4d5e6f", "call,1001", "call 1001", "it's"])
def test_ids_that_do_not_fit_a_tag_become_digests(session_id: str) -> None:
    tag = session_tag(session_id)
    assert tag.startswith("crmhub-s-") and len(tag) == MAX_TAG_LENGTH
    assert tag == session_tag(session_id)  # stable, so the lookup finds what the create wrote
    assert tag != session_tag(session_id + "x")


def test_tag_marks_are_found_without_regard_to_case() -> None:
    marks = Marks()
    tagged = ticket(tags=["UJET", "CRMHUB-QUEUE-Q-42", "crmhub-session-call-1001"])
    assert marks.in_queue(tagged, "q-42") and not marks.in_queue(tagged, "q-4")
    assert marks.has_session(tagged, "call-1001") and not marks.has_session(tagged, "call-100")
    assert marks.queue_of(tagged) == "Q-42"
    assert marks.queue_of(ticket(tags=[queue_tag("a queue id much too long to fit in a tag")])) is None


def test_tag_marks_on_a_new_ticket_and_the_session_query() -> None:
    marks = Marks()
    assert marks.for_new_ticket("q-42", "call-1001") == (["crmhub-queue-q-42", "crmhub-session-call-1001"], {})
    assert marks.for_new_ticket(None, "chat-9") == (["crmhub-session-chat-9"], {})
    assert marks.session_query("call-1001") == "\"tag:'crmhub-session-call-1001'\""


def test_custom_field_marks() -> None:
    marks = Marks(queue_field="cf_crmhub_queue", session_field="cf_crmhub_session")
    long_id = "3f2b8c1e-9d4a-4e6b-8c2f-1a2b3c4d5e6f"
    assert marks.for_new_ticket("q-42", long_id) == ([], {"cf_crmhub_queue": "q-42", "cf_crmhub_session": long_id})
    marked = ticket(custom_fields={"cf_crmhub_queue": "q-42", "cf_crmhub_session": long_id})
    assert marks.in_queue(marked, "q-42") and marks.queue_of(marked) == "q-42"
    assert marks.has_session(marked, long_id) and not marks.in_queue(ticket(), "q-42")
    assert marks.session_query(long_id) == f"\"crmhub_session:'{long_id}'\""
    assert marks.session_query("it's") is None


def test_format_tags_keeps_names_within_freshdesks_limits() -> None:
    assert format_tags(["Voice Inbound (IVR)", " UJET "]) == ["Voice Inbound (IVR)", "UJET"]
    assert format_tags(["Messaging Outbound (SMS via API)"]) == ["Messaging Outbound (SMS via API)"]  # 32: fits
    assert format_tags(["Messaging Outbound (SMS Direct via API)"]) == ["Messaging Outbound (SMS Direct"]
    assert format_tags(["Acme, Inc."]) == ["Acme  Inc."]
