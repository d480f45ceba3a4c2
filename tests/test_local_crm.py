"""The built-in ``local`` CRM, hook by hook: the reference implementation plugin authors copy."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from marshmallow import ValidationError

from crmhub import local_crm
from crmhub.core.errors import PermanentCrmError
from crmhub.core.models import CrmRecord, EndUser, LeafQueue, NewRecord, RecordQuery, Session, SessionNote
from crmhub.core.rules import closed_since
from crmhub.core.settings import RecordCreationSettings
from crmhub.local_records import LocalRecords, UnknownRecord

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
ADA = EndUser(id="u-7", phone="+14155550100", email="ada@example.com", name="Ada L.")
QUEUE = LeafQueue("q-42", ("Support", "Billing"))


@pytest.fixture
def client(tmp_path):
    return local_crm.crm_client(settings={"path": "records.db"}, config_dir=tmp_path)


def session(session_id: str, end_user: EndUser | None = ADA, queue: LeafQueue | None = QUEUE) -> Session:
    return Session(id=session_id, channel="call", session_type="Voice Inbound (IVR)", leaf_queue=queue, end_user=end_user)


def create(
    client: LocalRecords, session_id: str, at: datetime = T0, tags: tuple[str, ...] = ("Voice Inbound (IVR)",), **kwargs
) -> CrmRecord:
    new = NewRecord(
        session=session(session_id, **kwargs), title=f"IVR Call {session_id}", description=f"Session: {session_id}",
        tags=tags, idempotency_key=f"crmhub-{session_id}", at=at,
    )
    return local_crm.create_record(client=client, record=new)


def note(session_id: str, at: datetime, tags: tuple[str, ...] = ()) -> SessionNote:
    return SessionNote(
        session=session(session_id), text=f"Session: {session_id}", tags=tags, at=at, idempotency_key=f"crmhub-{session_id}"
    )


def query(at: datetime, days: int = 0, end_user: EndUser = ADA, queue: LeafQueue = QUEUE) -> RecordQuery:
    rules = RecordCreationSettings(append_to_open_record=True, append_to_closed_within_days=days)
    return RecordQuery(end_user=end_user, leaf_queue=queue, at=at, closed_since=closed_since(rules, at))


# --- declaration, settings and client -------------------------------------------------------------


def test_crm_name_is_local():
    assert local_crm.crm_name() == "local"


def test_settings_schema_has_one_key_with_a_default():
    schema = local_crm.crm_settings_schema()
    assert schema.load({}) == {"path": "crmhub-records.db"}
    assert schema.load({"path": "x.db"}) == {"path": "x.db"}
    with pytest.raises(ValidationError) as caught:
        schema.load({"path": "x.db", "api_token": "t"})
    assert set(caught.value.messages) == {"api_token"}


def test_the_client_resolves_a_relative_path_against_the_config_dir(tmp_path):
    relative = local_crm.crm_client(settings={"path": "sub/r.db"}, config_dir=tmp_path)
    assert relative.path == (tmp_path / "sub" / "r.db").resolve()
    absolute = tmp_path / "abs.db"
    assert local_crm.crm_client(settings={"path": str(absolute)}, config_dir=Path("/elsewhere")).path == absolute
    assert local_crm.crm_client(settings={}, config_dir=tmp_path).path == (tmp_path / "crmhub-records.db").resolve()


def test_the_client_makes_no_file_until_used(tmp_path):
    local_crm.crm_client(settings={"path": "lazy.db"}, config_dir=tmp_path)
    assert not (tmp_path / "lazy.db").exists()


# --- create_record --------------------------------------------------------------------------------


def test_create_record_stores_everything_the_session_gives(client):
    created = create(client, "call-1")
    assert (created.crm, created.status, created.crm_status, created.url) == ("local", "open", "open", None)
    assert created.created_at == T0 and created.closed_at is None
    assert created.leaf_queue_id == "q-42"
    stored = client.get(created.id)
    assert stored.session_id == "call-1"
    assert stored.title == "IVR Call call-1"
    assert stored.description == "Session: call-1"
    assert stored.tags == ["Voice Inbound (IVR)"]
    assert stored.end_user == {"id": "u-7", "phone": "+14155550100", "email": "ada@example.com", "name": "Ada L."}
    assert stored.end_user_key == "id:u-7"
    assert stored.notes == []


def test_create_record_is_idempotent_per_session(client):
    first = create(client, "call-1")
    again = create(client, "call-1", at=T0 + timedelta(hours=1))
    assert again == first
    assert len(client.all()) == 1
    assert create(client, "call-2").id != first.id


def test_an_anonymous_session_gets_a_record_without_end_user(client):
    created = create(client, "call-anon", end_user=None)
    stored = client.get(created.id)
    assert stored.end_user is None and stored.end_user_key is None


# --- find_open_record -----------------------------------------------------------------------------


def test_find_returns_none_without_records(client):
    assert local_crm.find_open_record(client=client, query=query(T0)) is None


def test_find_returns_the_newest_open_record(client):
    create(client, "call-1", at=T0)
    newest = create(client, "call-2", at=T0 + timedelta(hours=2))
    create(client, "call-3", at=T0 + timedelta(hours=1))
    assert local_crm.find_open_record(client=client, query=query(T0 + timedelta(days=1))) == newest


def test_find_prefers_an_open_record_to_a_closed_one(client):
    opened = create(client, "call-1", at=T0)
    closed = create(client, "call-2", at=T0 + timedelta(hours=1))
    client.close(closed.id, T0 + timedelta(hours=2))
    assert local_crm.find_open_record(client=client, query=query(T0 + timedelta(hours=3), days=3)) == opened


def test_find_returns_a_record_closed_inside_the_window(client):
    record = create(client, "call-1", at=T0)
    client.close(record.id, T0 + timedelta(hours=1))
    found = local_crm.find_open_record(client=client, query=query(T0 + timedelta(days=3, hours=1), days=3))
    assert found is not None
    assert (found.id, found.status, found.closed_at) == (record.id, "closed", T0 + timedelta(hours=1))


def test_find_ignores_a_record_closed_outside_the_window(client):
    record = create(client, "call-1", at=T0)
    client.close(record.id, T0 + timedelta(hours=1))
    at = T0 + timedelta(days=3, hours=1, seconds=1)
    assert local_crm.find_open_record(client=client, query=query(at, days=3)) is None


@pytest.mark.parametrize(
    "event_after_close", [timedelta(days=3), timedelta(0), -timedelta(hours=1)], ids=["edge", "same-time", "closed-later"]
)
def test_the_window_is_inclusive_and_a_later_close_counts(client, event_after_close):
    record = create(client, "call-1", at=T0)
    closed_at = T0 + timedelta(hours=1)
    client.close(record.id, closed_at)
    found = local_crm.find_open_record(client=client, query=query(closed_at + event_after_close, days=3))
    assert found is not None and found.id == record.id


def test_find_ignores_closed_records_when_rule_2_is_off(client):
    record = create(client, "call-1", at=T0)
    client.close(record.id, T0 + timedelta(hours=1))
    assert local_crm.find_open_record(client=client, query=query(T0 + timedelta(hours=2), days=0)) is None


def test_find_picks_the_record_closed_most_recently(client):
    older = create(client, "call-1", at=T0)
    newer = create(client, "call-2", at=T0 + timedelta(hours=1))
    client.close(newer.id, T0 + timedelta(hours=2))
    client.close(older.id, T0 + timedelta(hours=3))
    found = local_crm.find_open_record(client=client, query=query(T0 + timedelta(days=1), days=3))
    assert found.id == older.id


def test_find_only_looks_at_this_end_user_in_this_leaf_queue(client):
    create(client, "call-1")
    create(client, "call-2", queue=LeafQueue("q-43", ("Support", "Billing", "Refunds")))
    create(client, "call-3", end_user=EndUser(id="u-8"))
    assert local_crm.find_open_record(client=client, query=query(T0, queue=LeafQueue("q-44"))) is None
    assert local_crm.find_open_record(client=client, query=query(T0, end_user=EndUser(id="u-9"))) is None
    assert local_crm.find_open_record(client=client, query=query(T0)).id == client.by_session("call-1").to_crm_record().id


def test_find_matches_the_end_user_the_way_crmhub_does(client):
    phone_user = EndUser(phone="+1 (415) 555-0100")
    create(client, "call-1", end_user=phone_user)
    same_person = EndUser(phone="+14155550100", email="x@y.example")
    found = local_crm.find_open_record(client=client, query=query(T0, end_user=same_person))
    assert found is not None and found.id == client.by_session("call-1").to_crm_record().id


def test_find_never_matches_an_anonymous_end_user(client):
    create(client, "call-1", end_user=None)
    assert local_crm.find_open_record(client=client, query=query(T0, end_user=EndUser())) is None


# --- append_session and reopen --------------------------------------------------------------------


def test_append_adds_a_note_once_per_session_and_tags_without_duplicates(client):
    record = create(client, "call-1", tags=("Voice Inbound (IVR)", "UJET"))
    at = T0 + timedelta(hours=1)
    appended = local_crm.append_session(client=client, record=record, note=note("call-2", at, ("Voice Outbound", "UJET")))
    again = local_crm.append_session(client=client, record=record, note=note("call-2", at, ("Voice Outbound",)))
    assert appended == again == record
    stored = client.get(record.id)
    assert stored.tags == ["Voice Inbound (IVR)", "UJET", "Voice Outbound"]
    assert stored.notes == [{"session_id": "call-2", "text": "Session: call-2", "at": at.isoformat()}]
    assert stored.title == "IVR Call call-1"


def test_each_appended_session_gets_its_own_note(client):
    record = create(client, "call-1")
    for number in (2, 3):
        local_crm.append_session(client=client, record=record, note=note(f"call-{number}", T0 + timedelta(hours=number)))
    assert [n["session_id"] for n in client.get(record.id).notes] == ["call-2", "call-3"]


def test_concurrent_appends_keep_every_tag(client):
    writers = 8
    for round_ in range(3):
        record = create(client, f"call-{round_}", tags=())
        barrier = threading.Barrier(writers, timeout=30)

        def append(number: int, record: CrmRecord = record, round_: int = round_) -> None:
            barrier.wait()
            session_note = note(f"call-{round_}-{number}", T0, (f"tag-{number}",))
            local_crm.append_session(client=client, record=record, note=session_note)

        threads = [threading.Thread(target=append, args=(n,)) for n in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        stored = client.get(record.id)
        assert len(stored.notes) == writers
        assert sorted(stored.tags) == sorted(f"tag-{n}" for n in range(writers))


def test_reopen_sets_open_clears_closed_at_and_adds_the_session(client):
    record = create(client, "call-1")
    closed = client.close(record.id, T0 + timedelta(hours=1)).to_crm_record()
    assert (closed.status, closed.closed_at) == ("closed", T0 + timedelta(hours=1))
    reopened = local_crm.reopen(client=client, record=closed, note=note("call-2", T0 + timedelta(days=1), ("SMS",)))
    assert (reopened.status, reopened.crm_status, reopened.closed_at, reopened.follow_up_of) == ("open", "open", None, None)
    stored = client.get(record.id)
    assert [n["session_id"] for n in stored.notes] == ["call-2"]
    assert "SMS" in stored.tags


def test_close_sets_closed_and_the_close_time(client):
    record = create(client, "call-1")
    closed = client.close(record.id, T0 + timedelta(hours=5))
    assert (closed.status, closed.closed_at) == ("closed", T0 + timedelta(hours=5))
    assert closed.to_crm_record().status == "closed"


@pytest.mark.parametrize("record_id", ["999", "not-a-number", ""])
def test_an_unknown_id_is_reported(client, record_id):
    create(client, "call-1")
    with pytest.raises(UnknownRecord, match="no local record"):
        client.get(record_id)
    with pytest.raises(UnknownRecord):
        client.close(record_id, T0)


@pytest.mark.parametrize("hook", ["append_session", "reopen"])
def test_adding_to_an_unknown_record_is_a_permanent_crm_error(client, hook):
    missing = CrmRecord(crm="local", id="999", status="open", crm_status="open")
    with pytest.raises(PermanentCrmError):
        getattr(local_crm, hook)(client=client, record=missing, note=note("call-2", T0))


# --- find_record_for_session and format_tags ------------------------------------------------------


def test_find_record_for_session(client):
    created = create(client, "call-1")
    assert local_crm.find_record_for_session(client=client, session_id="call-1") == created
    assert local_crm.find_record_for_session(client=client, session_id="call-2") is None


def test_format_tags_keeps_the_names():
    tags = ["Voice Inbound (IVR)", "UJET", " padded "]
    assert local_crm.format_tags(tags=tags) == ["Voice Inbound (IVR)", "UJET", "padded"]


def test_records_survive_a_new_client(tmp_path, client):
    created = create(client, "call-1")
    fresh = local_crm.crm_client(settings={"path": "records.db"}, config_dir=tmp_path)
    assert local_crm.find_record_for_session(client=fresh, session_id="call-1") == created
