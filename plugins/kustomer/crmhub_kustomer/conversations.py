"""The record operations on Kustomer conversations: find, create, append, reopen, reconcile.

Marks (so that crmhub finds its own conversations again; hand-made ones are not candidates):

* the session: the conversation's ``externalId`` is ``crmhub-<session id>``; Kustomer looks a
  conversation up by it in one call (``GET /v1/conversations/externalId=…``);
* the leaf queue: the conversation custom attribute ``leaf_queue_attribute``
  (``crmhubLeafQueueStr`` by default) holds the leaf queue's id. A tag would not do: a
  conversation's ``tags`` come back as tag ids, not names.

Tags: a conversation's ``tags`` attribute holds tag ids, and sending it replaces the list. With
the org's ids known (:mod:`crmhub_kustomer.tags`), the ids ride on the conversation create and on
the reopen ``PATCH`` (the ids the conversation had, read a moment before by
``find_open_record``, plus the new ones), and an append whose tags the conversation already
carries makes no tags request. Otherwise, and for a name without an id, tags are added by name
with ``POST /v1/conversations/{id}/tags``, which only ever adds. The description and each
appended session are internal notes.

Order of writes: the steps that are safe to repeat (reopen, tags) come before the one that is not
(the note), so that a retry after a failure repeats nothing visible twice. After a conversation
was created, a failing tag or note step does not fail the create (retrying would make a second
conversation): it is logged as a warning and the created record returned.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from crmhub.core.errors import CrmError, PermanentCrmError, TransientCrmError, UnknownOutcomeError
from crmhub.core.models import CrmRecord, EndUser, NewRecord, RecordQuery, SessionNote
from crmhub.core.rules import pick_record
from crmhub.core.tags import unique
from crmhub_kustomer.client import KustomerClient, segment
from crmhub_kustomer.customers import find_customer, find_or_create_customer, forget_customer, remember_customer
from crmhub_kustomer.http_errors import KustomerNotFound
from crmhub_kustomer.records import (
    conversation_customer_id,
    conversation_record,
    conversation_tag_ids,
    leaf_queue_mark,
    resource,
    resources,
    session_external_id,
)
from crmhub_kustomer.tags import tag_ids_for

log = logging.getLogger("crmhub.kustomer")
PAGE_SIZE = 100


def find_open_record(client: KustomerClient, query: RecordQuery) -> CrmRecord | None:
    """The conversation a new session of this end user in this leaf queue should join, or None.

    The remembered conversation (the hint), when open, is the answer in one call. Otherwise an
    older one may be open, or one closed more recently, so the customer's conversations are
    listed; the hinted conversation names its customer, which saves looking the customer up.
    """
    attribute = client.settings.leaf_queue_attribute
    queue_id = query.leaf_queue.id
    customer_id = None
    if query.hint:
        hinted = _hinted(client, query.hint)
        if hinted is not None:
            record = conversation_record(hinted, attribute)
            if record.is_open and record.leaf_queue_id == queue_id:
                return _handed_over(client, hinted, record)
            customer_id = conversation_customer_id(hinted)
            if customer_id is not None:
                remember_customer(client, query.end_user, customer_id)
    if customer_id is None:
        customer_id = find_customer(client, query.end_user, query.session_id)
    if customer_id is None:
        return None
    listed = _customer_conversations(client, customer_id, query.end_user)
    # Only conversations carrying the mark are read: others (hand-made ones) are not candidates.
    marked = [c for c in listed if leaf_queue_mark(c, attribute) == queue_id]
    candidates = [(conversation_record(c, attribute), c) for c in marked]
    picked = pick_record([record for record, _ in candidates], query.closed_since)
    if picked is None:
        return None
    return _handed_over(client, next(c for record, c in candidates if record is picked), picked)


def _hinted(client: KustomerClient, conversation_id: str) -> Mapping[str, Any] | None:
    """The conversation crmhub last used for this end user and queue, as Kustomer has it now."""
    body = client.get_if_exists(f"/v1/conversations/{segment(conversation_id)}", "read the last conversation used")
    return None if body is None else resource(body, "conversation")


def _handed_over(client: KustomerClient, conversation: Mapping[str, Any], record: CrmRecord) -> CrmRecord:
    """Hand the chosen conversation's tag ids to the append or reopen that follows."""
    tag_ids = conversation_tag_ids(conversation)
    if tag_ids is not None:
        client.handoffs.put(record.id, tag_ids)
    return record


def _customer_conversations(client: KustomerClient, customer_id: str, end_user: EndUser) -> list[Any]:
    """Every conversation of the customer, page by page (at most ``max_conversation_pages``)."""
    found: list[Any] = []
    path = f"/v1/customers/{segment(customer_id)}/conversations"
    last_page = client.settings.max_conversation_pages
    for page in range(1, last_page + 1):
        try:
            body = client.get(path, "list the customer's conversations", {"page": str(page), "pageSize": str(PAGE_SIZE)})
        except KustomerNotFound:
            forget_customer(client, end_user)
            raise TransientCrmError(
                f"Kustomer customer {customer_id} no longer exists (merged or deleted); it will be looked up again"
            ) from None
        found.extend(resources(body, "conversation"))
        links = body.get("links")
        if not (isinstance(links, dict) and links.get("next")):
            return found
    log.warning(
        "customer %s has more than %d pages of conversations; only the first %d were searched "
        "(raise max_conversation_pages to search more)", customer_id, last_page, last_page,
    )
    return found


def create_record(client: KustomerClient, record: NewRecord) -> CrmRecord:
    """Create the session's conversation under its customer (the configured one when anonymous)."""
    session = record.session
    settings = client.settings
    end_user = None if session.is_anonymous else session.end_user
    if end_user is None:
        customer_id = settings.anonymous_customer_id
    else:
        customer_id = find_or_create_customer(client, end_user, record.session_id)
    tag_ids = tag_ids_for(client, record.tags)
    body: dict[str, Any] = {
        "externalId": session_external_id(record.session_id),
        "name": record.title,
        "status": "open",
    }
    if tag_ids:
        body["tags"] = unique(tag_ids[name] for name in record.tags if name in tag_ids)
    if session.leaf_queue is not None:
        body["custom"] = {settings.leaf_queue_attribute: session.leaf_queue.id}
        target = settings.queues.get(session.leaf_queue.id)
        if target is not None and target.queue:
            body["queue"] = {"id": target.queue}
        if target is not None and target.team:
            body["assignedTeams"] = [target.team]
    try:
        created = client.post(
            f"/v1/customers/{segment(customer_id)}/conversations", body,
            f"create a conversation for customer {customer_id}", safe_to_repeat=False,
        )
    except KustomerNotFound:
        if end_user is None:
            raise
        forget_customer(client, end_user)
        raise TransientCrmError(
            f"Kustomer customer {customer_id} no longer exists (merged or deleted); it will be looked up again"
        ) from None
    try:
        conversation = conversation_record(resource(created, "conversation"), settings.leaf_queue_attribute)
    except PermanentCrmError as unreadable:
        # Kustomer said 2xx: the conversation exists; reconciling by its externalId will find it.
        raise UnknownOutcomeError(f"{unreadable}; the conversation was probably created") from None
    try:
        _add_tags(client, conversation.id, [name for name in record.tags if name not in tag_ids])
        _add_note(client, conversation.id, record.description)
    except CrmError as error:
        log.warning(
            "Kustomer conversation %s was created for session %s, but adding its tags or description "
            "failed: %s", conversation.id, record.session_id, error,
        )
    return conversation


def append_session(client: KustomerClient, record: CrmRecord, note: SessionNote) -> CrmRecord:
    """Add the session's note to an open conversation, and its tags unless it already carries them."""
    current = client.handoffs.take(record.id)
    missing = list(note.tags)
    if note.tags and current is not None:
        tag_ids = tag_ids_for(client, note.tags)
        missing = [name for name in note.tags if tag_ids.get(name) not in current]
    tagged = _add_tags(client, record.id, missing)
    _add_note(client, record.id, note.text)
    return tagged or record


def reopen(client: KustomerClient, record: CrmRecord, note: SessionNote) -> CrmRecord:
    """Set a done conversation back to ``open`` (with the session's tag ids), then add its note.

    Kustomer has no single request that changes the status and adds a note, so this takes two;
    if the note fails after the reopen, the retry finds the conversation open and appends. The
    tag ids go in the same ``PATCH`` only when the conversation's current ids were handed over
    (the list is replaced); otherwise the tags are added by name after it.
    """
    current = client.handoffs.take(record.id)
    update: dict[str, Any] = {"status": "open"}
    by_name = list(note.tags)
    if note.tags and current is not None:
        tag_ids = tag_ids_for(client, note.tags)
        new = unique(tag_ids[name] for name in note.tags if name in tag_ids and tag_ids[name] not in current)
        if new:
            update["tags"] = [*current, *new]
        by_name = [name for name in note.tags if name not in tag_ids]
    body = client.patch(f"/v1/conversations/{segment(record.id)}", update, f"reopen conversation {record.id}")
    reopened = conversation_record(resource(body, "conversation"), client.settings.leaf_queue_attribute)
    tagged = _add_tags(client, record.id, by_name)
    _add_note(client, record.id, note.text)
    return tagged or reopened


def find_record_for_session(client: KustomerClient, session_id: str) -> CrmRecord | None:
    """The conversation crmhub created for the session (by its ``externalId``), or None."""
    body = client.get_if_exists(
        f"/v1/conversations/externalId={segment(session_external_id(session_id))}",
        f"look up the conversation of session {session_id}",
    )
    if body is None:
        return None
    return conversation_record(resource(body, "conversation"), client.settings.leaf_queue_attribute)


def _add_tags(client: KustomerClient, conversation_id: str, tags: Sequence[str]) -> CrmRecord | None:
    """Append tags by name (safe to repeat: a tag already there stays once; a name the org lacks
    becomes a tag). Returns the conversation as Kustomer answers it, or None when there was
    nothing to add."""
    if not tags:
        return None
    body = client.post(
        f"/v1/conversations/{segment(conversation_id)}/tags", list(tags),
        f"add tags to conversation {conversation_id}", safe_to_repeat=True,
    )
    return conversation_record(resource(body, "conversation"), client.settings.leaf_queue_attribute)


def _add_note(client: KustomerClient, conversation_id: str, text: str) -> None:
    """An internal note; the last write of every operation, because it is not safe to repeat."""
    client.post(
        f"/v1/conversations/{segment(conversation_id)}/notes", {"body": text},
        f"add a note to conversation {conversation_id}", safe_to_repeat=False,
    )
