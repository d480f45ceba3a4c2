"""The Salesforce client the hooks drive: one instance per dispatcher, shared by its threads.

Each operation uses as few REST calls as the API allows (see the README's call counts):

* find: the person query (cached briefly), then ONE SOQL query for the end user's records from the
  leaf queue that are open or closed inside the window (``IsClosed`` / ``ClosedDate``);
* create: ``POST /sobjects/Case`` (or an upsert on the session id when ``upsert_field`` is set),
  with ``Sforce-Auto-Assign: FALSE`` so assignment rules leave the owner crmhub chose;
* append: one ``CaseComment``; reopen: ``PATCH`` of the status (204) and one ``CaseComment``;
* the default open status is read from ``CaseStatus`` once per client, unless the settings name it.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

import requests

from crmhub.core.errors import PermanentCrmError
from crmhub.core.models import CrmRecord, NewRecord, RecordQuery, SessionNote
from crmhub.core.rules import pick_record
from crmhub_salesforce import soql
from crmhub_salesforce.api import AUTO_ASSIGN_OFF, SalesforceApi, created_id, json_object
from crmhub_salesforce.config import SalesforceConfig
from crmhub_salesforce.people import People, PersonMatch
from crmhub_salesforce.records import CRM_KEY, fit_bytes, fit_chars, parse_record, record_url
from crmhub_salesforce.upsert import upsert

DESCRIPTION_MAX_CHARS = 32000
"""Case.Description and Opportunity.Description are long text areas of 32,000 characters."""
NOTE_TITLE_MAX_CHARS = 80


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
        person = self.people.find(query.end_user)
        if person is None:
            return None  # nobody in Salesforce, so no records of theirs either
        f = self.fields
        conditions = [
            f"{person.record_field} = {soql.literal(person.id)}",
            f"{f.leaf_queue_field} = {soql.literal(query.leaf_queue.id)}",
        ]
        if query.closed_since is None:
            conditions.append(f"{f.closed_field} = false")
        else:
            since = soql.date_literal if f.closed_at_type == "date" else soql.datetime_literal
            conditions.append(f"({f.closed_field} = false OR {f.closed_at_field} >= {since(query.closed_since)})")
        text = soql.select(f.select_list(), f.object, " AND ".join(conditions), order_by="CreatedDate DESC")
        rows = self.api.query(text, action=f"find the end user's {f.object} records")
        instance = self.api.instance_url()
        return pick_record([parse_record(row, f, instance) for row in rows], query.closed_since)

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
        person = self.people.find_or_create(end_user) if end_user is not None else None
        status = self.open_status()
        f = self.fields
        body = self._record_body(record, person)
        action = f"create {f.object} for session {session.id}"
        try:
            if f.upsert_field:
                record_id, _ = upsert(
                    self.api, f.object, f.upsert_field, session.id, body, action=action, headers=AUTO_ASSIGN_OFF
                )
            else:
                response = self.api.request(
                    "POST", f"sobjects/{f.object}", json=body, headers=AUTO_ASSIGN_OFF, action=action,
                    may_have_applied=True,
                )
                record_id = created_id(response, action)
        except PermanentCrmError:
            if end_user is not None:
                self.people.forget(end_user)  # the person may be gone (merged, deleted): look again next time
            raise
        return CrmRecord(
            crm=CRM_KEY, id=record_id, status="open", crm_status=status,
            url=record_url(self.api.instance_url(), f.object, record_id),
            created_at=record.at, leaf_queue_id=session.leaf_queue.id if session.leaf_queue else None,
        )

    def _record_body(self, record: NewRecord, person: PersonMatch | None) -> dict[str, Any]:
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
        if person is not None:
            body[person.record_field] = person.id
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
        self._add_note(record.id, note)
        changes = self._tag_changes(record.id, note.tags)
        if changes:
            self._update(record.id, changes, f"add tags to {self.fields.object} {record.id}")
        return record

    def reopen(self, record: CrmRecord, note: SessionNote) -> CrmRecord:
        status = self.open_status()
        changes = {self.fields.status_field: status, **self._tag_changes(record.id, note.tags)}
        self._update(record.id, changes, f"reopen {self.fields.object} {record.id}")
        self._add_note(record.id, note)
        return replace(record, status="open", crm_status=status, closed_at=None)

    def _update(self, record_id: str, changes: dict[str, Any], action: str) -> None:
        """``PATCH /sobjects/<Object>/<id>`` (204): idempotent, so a lost answer is "try later"."""
        self.api.request("PATCH", f"sobjects/{self.fields.object}/{record_id}", json=changes, headers=AUTO_ASSIGN_OFF, action=action)

    def _add_note(self, record_id: str, note: SessionNote) -> None:
        n = self.config.note
        body: dict[str, Any] = {
            n.parent_field: record_id,
            n.body_field: fit_bytes(note.text, n.max_bytes),
            **n.static_fields,
        }
        if n.title_field:
            body[n.title_field] = fit_chars(f"crmhub session {note.session.id}", NOTE_TITLE_MAX_CHARS)
        self.api.request(
            "POST", f"sobjects/{n.object}", json=body, may_have_applied=True,
            action=f"add a {n.object} to {self.fields.object} {record_id}",
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
