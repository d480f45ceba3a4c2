"""The Salesforce client the hooks drive: one instance per dispatcher, shared by its threads.

Each operation uses as few REST calls as the API allows (see the README's call counts):

* find: ONE SOQL query for the end user and their records from the leaf queue that are open or
  closed inside the window (``IsClosed`` / ``ClosedDate``), the records as a parent-child subquery
  on the person (``Cases`` on Contact); while the person is cached, one query for the records alone;
* create: ``POST /sobjects/Case`` (or an upsert on the session id when ``upsert_field`` is set),
  with ``Sforce-Auto-Assign: FALSE`` so assignment rules leave the owner crmhub chose; for an end
  user nobody matched, the new Contact and the Case in ONE composite call (the Case's ``ContactId``
  refers to the Contact the first subrequest makes);
* append: one ``CaseComment``; reopen: the status ``PATCH`` and the ``CaseComment`` in ONE
  composite call (all or none);
* the default open status is read from ``CaseStatus`` once per client, unless the settings name it.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

import requests

from crmhub.core.errors import CrmError, PermanentCrmError
from crmhub.core.models import CrmRecord, NewRecord, RecordQuery, SessionNote
from crmhub.core.rules import pick_record
from crmhub_salesforce import soql
from crmhub_salesforce.api import AUTO_ASSIGN_OFF, SalesforceApi, json_object
from crmhub_salesforce.config import SalesforceConfig
from crmhub_salesforce.people import People, RecordsSubquery
from crmhub_salesforce.records import CRM_KEY, fit_bytes, fit_chars, parse_record, record_url
from crmhub_salesforce.writes import Write, reference_to, send, upsert_write, written_id

DESCRIPTION_MAX_CHARS = 32000
"""Case.Description and Opportunity.Description are long text areas of 32,000 characters."""
NOTE_TITLE_MAX_CHARS = 80
PERSON, RECORD, NOTE = "person", "record", "note"
"""The composite reference ids of the writes crmhub sends together."""


class SalesforceClient:
    """Salesforce REST operations for crmhub's CRM hooks."""

    def __init__(self, config: SalesforceConfig, session: requests.Session | None = None):
        self.config = config
        self.fields = config.record
        self.api = SalesforceApi(config, session)
        self.people = People(self.api, config)
        self._status_lock = threading.Lock()
        self._open_status = config.record.open_status

    def __repr__(self) -> str:
        auth = self.config.auth
        return (
            f"SalesforceClient(object={self.fields.object!r}, auth_flow={auth.flow!r}, "
            f"login_url={auth.login_url!r}, api_version={self.config.api_version!r})"
        )

    __str__ = __repr__

    # --- reads --------------------------------------------------------------------------------------

    def open_status(self) -> str:
        """The status a record is (re)opened with: from the settings, else the org's default
        ``CaseStatus`` (read once, then kept for the client's life)."""
        with self._status_lock:
            if self._open_status is None:
                self._open_status = self._read_default_status()
            return self._open_status

    def _read_default_status(self) -> str:
        query = soql.select(["ApiName", "MasterLabel"], "CaseStatus", "IsDefault = true AND IsClosed = false", limit=1)
        rows = self.api.query(query, action="read the default case status")
        value = (rows[0].get("ApiName") or rows[0].get("MasterLabel")) if rows else None
        if not isinstance(value, str) or not value:
            raise PermanentCrmError("the org has no default open case status; set open_status in [crm.salesforce]")
        return value

    def find_open_record(self, query: RecordQuery) -> CrmRecord | None:
        f = self.fields
        candidates = self._candidates(query)
        known, person = self.people.cached(query.end_user)
        if not known:
            found = self.people.find_with_records(query.end_user, candidates)
            if found is None:
                return None  # nobody in Salesforce, so no records of theirs either
            rows = found[1]
        elif person is None:
            return None
        else:
            where = f"{person.record_field} = {soql.literal(person.id)} AND {candidates.where}"
            text = soql.select(candidates.fields, f.object, where, order_by=candidates.order_by)
            rows = self.api.query(text, action=f"find the end user's {f.object} records")
        instance = self.api.instance_url()
        return pick_record([parse_record(row, f, instance) for row in rows], query.closed_since)

    def _candidates(self, query: RecordQuery) -> RecordsSubquery:
        """The end user's records crmhub may add this session to: marked with this leaf queue, open,
        or (rule 2) closed since ``closed_since``; newest first."""
        f = self.fields
        conditions = [f"{f.leaf_queue_field} = {soql.literal(query.leaf_queue.id)}"]
        if query.closed_since is None:
            conditions.append(f"{f.closed_field} = false")
        else:
            since = soql.date_literal if f.closed_at_type == "date" else soql.datetime_literal
            conditions.append(f"({f.closed_field} = false OR {f.closed_at_field} >= {since(query.closed_since)})")
        return RecordsSubquery(f.select_list(), " AND ".join(conditions), "CreatedDate DESC")

    def find_record_for_session(self, session_id: str) -> CrmRecord | None:
        f = self.fields
        text = soql.select(
            f.select_list(), f.object, f"{f.session_id_field} = {soql.literal(session_id)}",
            order_by="CreatedDate ASC", limit=1,
        )
        rows = self.api.query(text, action=f"find the {f.object} of session {session_id}")
        return parse_record(rows[0], f, self.api.instance_url()) if rows else None

    # --- writes ---------------------------------------------------------------------------------------

    def create_record(self, record: NewRecord) -> CrmRecord:
        session = record.session
        end_user = None if session.is_anonymous else session.end_user
        person = self.people.find(end_user) if end_user is not None else None
        new_person = self.people.creation(end_user, PERSON) if end_user is not None and person is None else None
        status = self.open_status()
        f = self.fields
        if person is not None:
            link: tuple[str, str] | None = (person.record_field, person.id)
        elif new_person is not None:
            link = (self.config.contact_lookup.record_field, reference_to(PERSON))
        else:
            link = None
        body = self._record_body(record, link)
        action = f"create {f.object} for session {session.id}"
        if f.upsert_field:
            create = upsert_write(f.object, f.upsert_field, session.id, body, action=action, reference=RECORD, headers=AUTO_ASSIGN_OFF)
        else:
            create = Write("POST", f"sobjects/{f.object}", body, action, RECORD, may_have_applied=True, headers=AUTO_ASSIGN_OFF)
        try:
            if new_person is None:
                record_id = written_id(self.api, create, send(self.api, [create], action=action)[RECORD])
            else:
                both = f"{action} and its {self.config.contact_lookup.object}"
                answers = send(self.api, [new_person, create], action=both)
                assert end_user is not None
                self.people.created(end_user, new_person, answers[PERSON])
                record_id = written_id(self.api, create, answers[RECORD])
        except CrmError as error:
            if end_user is not None and (new_person is not None or isinstance(error, PermanentCrmError)):
                # the person may be gone (merged, deleted), or may now exist: look again next time
                self.people.forget(end_user)
            raise
        return CrmRecord(
            crm=CRM_KEY, id=record_id, status="open", crm_status=status,
            url=record_url(self.api.instance_url(), f.object, record_id),
            created_at=record.at, leaf_queue_id=session.leaf_queue.id if session.leaf_queue else None,
        )

    def _record_body(self, record: NewRecord, link: tuple[str, str] | None) -> dict[str, Any]:
        """The new record's fields; ``link`` is the person lookup field and its value (an id, or a
        composite reference to the Contact created in the same call)."""
        f = self.fields
        session = record.session
        body: dict[str, Any] = {
            f.subject_field: fit_chars(record.title, f.subject_max_length),
            f.description_field: fit_chars(record.description, DESCRIPTION_MAX_CHARS),
        }
        if f.open_status:
            body[f.status_field] = f.open_status
        origin = f.origin_values.get(session.channel)
        if f.origin_field and origin:
            body[f.origin_field] = origin
        if link is not None:
            body[link[0]] = link[1]
        if session.leaf_queue is not None:
            body[f.leaf_queue_field] = session.leaf_queue.id
            owner = f.queue_owners.get(session.leaf_queue.id)
            if f.owner_field and owner:
                body[f.owner_field] = owner
        if f.session_id_field != f.upsert_field:  # the upsert URL carries it otherwise
            body[f.session_id_field] = session.id
        if f.tags_field and record.tags:
            body[f.tags_field] = f.tags_separator.join(record.tags)
        for name in f.event_date_fields:
            body[name] = soql.date_literal(record.at)
        return body

    def append_session(self, record: CrmRecord, note: SessionNote) -> CrmRecord:
        """One ``CaseComment``; with new tags for the tags field, the tags ``PATCH`` in the same call."""
        writes = [self._note_write(record.id, note)]
        changes = self._tag_changes(record.id, note.tags)
        if changes:
            writes.append(self._update_write(record.id, changes, f"add tags to {self.fields.object} {record.id}"))
        send(self.api, writes, action=f"add session {note.session.id} to {self.fields.object} {record.id}")
        return record

    def reopen(self, record: CrmRecord, note: SessionNote) -> CrmRecord:
        """The open status (and new tags) by ``PATCH``, and the ``CaseComment``: one composite call,
        all or none."""
        status = self.open_status()
        changes = {self.fields.status_field: status, **self._tag_changes(record.id, note.tags)}
        action = f"reopen {self.fields.object} {record.id}"
        send(self.api, [self._update_write(record.id, changes, action), self._note_write(record.id, note)], action=action)
        return replace(record, status="open", crm_status=status, closed_at=None)

    def _update_write(self, record_id: str, changes: dict[str, Any], action: str) -> Write:
        """``PATCH /sobjects/<Object>/<id>`` (204): idempotent, so a lost answer is "try later"."""
        return Write(
            "PATCH", f"sobjects/{self.fields.object}/{record_id}", changes, action, RECORD,
            may_have_applied=False, headers=AUTO_ASSIGN_OFF,
        )

    def _note_write(self, record_id: str, note: SessionNote) -> Write:
        n = self.config.note
        body: dict[str, Any] = {
            n.parent_field: record_id,
            n.body_field: fit_bytes(note.text, n.max_bytes),
            **n.static_fields,
        }
        if n.title_field:
            body[n.title_field] = fit_chars(f"crmhub session {note.session.id}", NOTE_TITLE_MAX_CHARS)
        return Write(
            "POST", f"sobjects/{n.object}", body, f"add a {n.object} to {self.fields.object} {record_id}", NOTE,
            may_have_applied=True,
        )

    def _tag_changes(self, record_id: str, tags: tuple[str, ...]) -> dict[str, str]:
        """The tags field with ``tags`` added to what it holds (read first), or ``{}`` when there is
        no tags field or nothing to add. Salesforce has no native tags."""
        f = self.fields
        if not f.tags_field or not tags:
            return {}
        action = f"read the tags of {f.object} {record_id}"
        current = json_object(
            self.api.request("GET", f"sobjects/{f.object}/{record_id}", params={"fields": f.tags_field}, action=action),
            action,
        ).get(f.tags_field)
        existing = [t.strip() for t in current.split(f.tags_separator)] if isinstance(current, str) else []
        existing = [t for t in existing if t]
        added = [t for t in tags if t not in existing]
        return {f.tags_field: f.tags_separator.join(existing + added)} if added else {}
