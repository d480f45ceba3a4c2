"""Tag ids: listed once per process, created when the org lacks one, carried by the conversation
create and the reopen PATCH; the conversation read by find_open_record handed to the write that
follows; and every way out that falls back to adding tags by name."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import pytest

from crmhub.core.errors import AuthenticationError, TransientCrmError
from crmhub.core.models import CrmRecord
from crmhub import testing
from crmhub.testing import samples
from crmhub.testing.replay import replay
from crmhub_kustomer import conversations, tags
from crmhub_kustomer.client import KustomerClient
from crmhub_kustomer.settings import KustomerSettings

HOST = "https://acme.api.kustomerapp.com"
DOC = "https://developer.kustomer.com/api/core-resources#conversations"
CONVERSATION = "6744a1b2c3d4e5f6a7b81001"
IVR, UJET, AGENTS = "6744f0e1d2c3b4a5968778a1", "6744f0e1d2c3b4a5968778a2", "6744f0e1d2c3b4a5968778a5"
NAMES = ("Voice Inbound - IVR", "UJET")
PAGE_1 = {"page": "1", "pageSize": "100"}
ANONYMOUS_CALL = samples.session(end_user=None)
CONVERSATION_BODY = {"externalId": "crmhub-call-1001", "name": "IVR Call call-1001", "status": "open",
                     "custom": {"crmhubLeafQueueStr": "q-42"}}


def client() -> KustomerClient:
    return KustomerClient(KustomerSettings(api_key="test-key", base_url=HOST, anonymous_customer_id="anon0"))


def exchange(method: str, path: str, status: int = 200, json: Any = None, **parts: Any) -> dict[str, Any]:
    return testing.exchange(method, HOST + path, status=status, json=json, **parts)


def fixture(*exchanges: dict[str, Any]) -> dict[str, Any]:
    return testing.fixture(DOC, *exchanges)


def tag(tag_id: str, name: str, deleted: bool = False) -> dict[str, Any]:
    return {"type": "tag", "id": tag_id, "attributes": {"name": name, "deleted": deleted}}


def tag_page(*found: dict[str, Any], more: bool = False) -> dict[str, Any]:
    return {"data": list(found), "links": {"next": "/v1/tags?page=2&pageSize=100" if more else None}}


def conversation(status: str = "open", tag_ids: tuple[str, ...] = (), **attributes: Any) -> dict[str, Any]:
    attrs = {"status": status, "createdAt": "2026-11-23T10:00:00.000Z", "custom": {"crmhubLeafQueueStr": "q-42"},
             "tags": list(tag_ids), **attributes}
    return {"type": "conversation", "id": CONVERSATION, "attributes": attrs}


def created(tag_ids: tuple[str, ...]) -> dict[str, Any]:
    return {"data": conversation(tag_ids=tag_ids, externalId="crmhub-call-1001")}


def create_exchange(tag_ids: tuple[str, ...] | None) -> dict[str, Any]:
    body = dict(CONVERSATION_BODY) if tag_ids is None else {**CONVERSATION_BODY, "tags": list(tag_ids)}
    return exchange("POST", "/v1/customers/anon0/conversations", 201, created(tag_ids or ()), body=body)


def note_exchange() -> dict[str, Any]:
    return exchange("POST", f"/v1/conversations/{CONVERSATION}/notes", 201, {"data": {}})


def record(status: str = "open") -> CrmRecord:
    return CrmRecord(crm="kustomer", id=CONVERSATION, status=status, crm_status="open" if status == "open" else "done")  # type: ignore[arg-type]


def new_record() -> Any:
    return samples.new_record(session=ANONYMOUS_CALL, tags=NAMES)


def note(names: tuple[str, ...] = NAMES) -> Any:
    return samples.note(tags=names)


# --- tag ids for creates -----------------------------------------------------------------------------


def test_the_org_tags_are_listed_once_per_process_and_their_ids_ride_on_the_create() -> None:
    running = client()
    with replay(fixture(
        exchange("GET", "/v1/tags", json=tag_page(tag(IVR, "Voice Inbound - IVR"), more=True), query=PAGE_1),
        exchange("GET", "/v1/tags", json=tag_page(tag("old", "UJET", deleted=True), tag(UJET, "UJET")),
                 query={"page": "2", "pageSize": "100"}),
        create_exchange((IVR, UJET)), note_exchange(),
    )):
        conversations.create_record(running, new_record())
    with replay(fixture(create_exchange((IVR, UJET)), note_exchange())):  # known now: no listing
        conversations.create_record(running, new_record())


def test_a_tag_the_org_lacks_is_created_once_and_remembered() -> None:
    running = client()
    made = {"data": tag(UJET, "UJET")}
    with replay(fixture(
        exchange("GET", "/v1/tags", json=tag_page(tag(IVR, "Voice Inbound - IVR")), query=PAGE_1),
        exchange("POST", "/v1/tags", 201, made, body={"name": "UJET"}),
        create_exchange((IVR, UJET)), note_exchange(),
    )):
        conversations.create_record(running, new_record())
    assert running.tag_ids.known(NAMES) == {"Voice Inbound - IVR": IVR, "UJET": UJET}


def test_a_tag_kustomer_will_not_create_is_added_by_name(caplog: pytest.LogCaptureFixture) -> None:
    running = client()
    refused = {"errors": [{"status": 422, "code": "invalid", "title": "name is invalid"}]}
    with replay(fixture(
        exchange("GET", "/v1/tags", json=tag_page(tag(IVR, "Voice Inbound - IVR")), query=PAGE_1),
        exchange("POST", "/v1/tags", 422, refused, body={"name": "UJET"}),
        create_exchange((IVR,)),
        exchange("POST", f"/v1/conversations/{CONVERSATION}/tags", json=created((IVR, UJET)), body=["UJET"]),
        note_exchange(),
    )):
        with caplog.at_level(logging.WARNING, logger="crmhub.kustomer"):
            conversations.create_record(running, new_record())
    assert "would not create the tag 'UJET'" in caplog.text
    with replay(fixture(  # not asked again in this process
        create_exchange((IVR,)),
        exchange("POST", f"/v1/conversations/{CONVERSATION}/tags", json=created((IVR, UJET)), body=["UJET"]),
        note_exchange(),
    )):
        conversations.create_record(running, new_record())


def test_tags_that_cannot_be_listed_are_added_by_name_for_the_rest_of_the_process(
    caplog: pytest.LogCaptureFixture,
) -> None:
    running = client()
    forbidden = {"errors": [{"status": 403, "code": "forbidden", "title": "missing role org.permission.tag.read"}]}
    by_name = exchange("POST", f"/v1/conversations/{CONVERSATION}/tags", json=created((IVR, UJET)), body=list(NAMES))
    with replay(fixture(exchange("GET", "/v1/tags", 403, forbidden, query=PAGE_1), create_exchange(None),
                        by_name, note_exchange())):
        with caplog.at_level(logging.WARNING, logger="crmhub.kustomer"):
            conversations.create_record(running, new_record())
    assert "cannot be listed" in caplog.text
    with replay(fixture(create_exchange(None), by_name, note_exchange())):
        conversations.create_record(running, new_record())


def test_a_refused_api_key_on_the_tag_listing_is_an_authentication_error() -> None:
    refused = {"errors": [{"status": 401, "code": "unauthorized", "title": "Unauthorized"}]}
    with replay(fixture(exchange("GET", "/v1/tags", 401, refused, query=PAGE_1))):
        with pytest.raises(AuthenticationError):
            conversations.create_record(client(), new_record())


def test_a_lost_tag_create_is_transient_and_the_retry_lists_the_tags_again() -> None:
    running = client()
    with replay(fixture(
        exchange("GET", "/v1/tags", json=tag_page(tag(IVR, "Voice Inbound - IVR")), query=PAGE_1),
        exchange("POST", "/v1/tags", body={"name": "UJET"}, timeout=True),
    )):
        with pytest.raises(TransientCrmError):  # nothing was created: the dispatcher retries
            conversations.create_record(running, new_record())
    with replay(fixture(  # the lost create did make the tag: found by listing, not made twice
        exchange("GET", "/v1/tags", json=tag_page(tag(IVR, "Voice Inbound - IVR"), tag(UJET, "UJET")), query=PAGE_1),
        create_exchange((IVR, UJET)), note_exchange(),
    )):
        conversations.create_record(running, new_record())


def test_the_listing_stops_at_its_page_cap(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(tags, "MAX_PAGES", 1)
    with replay(fixture(exchange("GET", "/v1/tags", json=tag_page(tag(IVR, "Voice Inbound - IVR"), more=True),
                                 query=PAGE_1))):
        with caplog.at_level(logging.WARNING, logger="crmhub.kustomer"):
            assert tags._list_tags(client()) == {"Voice Inbound - IVR": IVR}
    assert "more than 1 pages of tags" in caplog.text


# --- what find_open_record hands over ----------------------------------------------------------------


def found_open(running: KustomerClient, tag_ids: tuple[str, ...]) -> CrmRecord:
    """find_open_record over the hinted open conversation carrying ``tag_ids``."""
    query = replace(samples.query(), hint=CONVERSATION)
    read = exchange("GET", f"/v1/conversations/{CONVERSATION}", json={"data": conversation(tag_ids=tag_ids)})
    with replay(fixture(read)):
        found = conversations.find_open_record(running, query)
    assert found is not None
    return found


def known_client() -> KustomerClient:
    running = client()
    running.tag_ids.store_listing({"Voice Inbound - IVR": IVR, "UJET": UJET})
    return running


def test_an_append_to_a_conversation_already_carrying_the_tags_is_the_note_alone() -> None:
    running = known_client()
    found = found_open(running, (UJET, IVR, AGENTS))
    with replay(fixture(note_exchange())):
        assert conversations.append_session(running, found, note()) is found


def test_an_append_adds_by_name_only_the_tags_the_conversation_lacks() -> None:
    running = known_client()
    found = found_open(running, (IVR,))
    with replay(fixture(
        exchange("POST", f"/v1/conversations/{CONVERSATION}/tags", json=created((IVR, UJET)), body=["UJET"]),
        note_exchange(),
    )):
        conversations.append_session(running, found, note())


def test_what_was_handed_over_is_used_once() -> None:
    running = known_client()
    found = found_open(running, (IVR, UJET))
    with replay(fixture(note_exchange())):
        conversations.append_session(running, found, note())
    with replay(fixture(  # no fresh read: nothing is assumed about the tags, they are added by name
        exchange("POST", f"/v1/conversations/{CONVERSATION}/tags", json=created((IVR, UJET)), body=list(NAMES)),
        note_exchange(),
    )):
        conversations.append_session(running, found, note())


def test_a_reopen_patch_carries_the_current_tag_ids_and_the_new_ones() -> None:
    running = known_client()
    query = samples.query(window_days=3)
    running.customer_ids.remember("id:u-7", "66f1c2a3b4c5d6e7f8a9b0c1")
    done = conversation(status="done", tag_ids=(AGENTS, IVR), lastDone={"createdAt": "2026-11-24T16:02:44.318Z"})
    listing = {"data": [done], "links": {"next": None}}
    with replay(fixture(exchange("GET", "/v1/customers/66f1c2a3b4c5d6e7f8a9b0c1/conversations", json=listing,
                                 query=PAGE_1))):
        found = conversations.find_open_record(running, query)
    assert found is not None and found.status == "closed"
    reopened = {"data": conversation(tag_ids=(AGENTS, IVR, UJET))}
    with replay(fixture(
        exchange("PATCH", f"/v1/conversations/{CONVERSATION}", json=reopened,
                 body={"status": "open", "tags": [AGENTS, IVR, UJET]}),
        note_exchange(),
    )):
        assert conversations.reopen(running, found, note()).status == "open"


def test_a_reopen_with_every_tag_already_there_patches_the_status_alone() -> None:
    running = known_client()
    found = replace(found_open(running, (IVR, UJET)), status="closed", crm_status="done")
    with replay(fixture(
        exchange("PATCH", f"/v1/conversations/{CONVERSATION}", json={"data": conversation()}, body={"status": "open"}),
        note_exchange(),
    )):
        conversations.reopen(running, found, note())


def test_a_reopen_without_the_current_tags_adds_them_by_name_after_the_patch() -> None:
    with replay(fixture(
        exchange("PATCH", f"/v1/conversations/{CONVERSATION}", json={"data": conversation()}, body={"status": "open"}),
        exchange("POST", f"/v1/conversations/{CONVERSATION}/tags", json=created((IVR, UJET)), body=list(NAMES)),
        note_exchange(),
    )):
        conversations.reopen(known_client(), record("closed"), note())
