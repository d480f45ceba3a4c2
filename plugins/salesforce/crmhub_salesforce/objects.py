"""The Salesforce objects crmhub can keep its records in, and the field names each one uses.

crmhub's rules need five things from a record object: a boolean "is closed" flag, a close time to
measure the reopen window from, a status field that reopening sets back to an open value, a lookup
to the person (Contact) the record is about, and two text fields crmhub writes itself (the leaf
queue and the session id). ``Case`` has all of them natively; ``Opportunity`` has them too (it is
open while ``IsClosed`` is false, its close time is the ``CloseDate`` *date*). Any other object
that has them can be used by naming every field in the settings: a preset only supplies defaults.

crmhub reads a person and their records in one SOQL query, the records as a parent-child
subquery through the person's child relationship: ``Cases`` on Contact (and on a Person Account),
``Opportunities`` for Opportunity. A custom lookup has its own relationship name (``Cases__r``).

Appended sessions become notes: ``CaseComment`` rows on a Case; on other objects the classic
``Note`` object (``ParentId``, ``Title``, ``Body``), which any object with notes enabled accepts.
"""

from __future__ import annotations

from typing import Any

CASE = "Case"
OPPORTUNITY = "Opportunity"

RECORD_PRESET_KEYS = (
    "subject_field",
    "subject_max_length",
    "description_field",
    "status_field",
    "closed_field",
    "closed_at_field",
    "closed_at_type",
    "contact_field",
    "person_records_relationship",
    "origin_field",
    "owner_field",
    "event_date_fields",
    "note_object",
    "note_parent_field",
    "note_body_field",
    "note_title_field",
    "note_max_bytes",
    "note_fields",
)
"""Settings a preset fills in when the integrator leaves them out."""

PRESETS: dict[str, dict[str, Any]] = {
    CASE: {
        "subject_field": "Subject",
        "subject_max_length": 255,
        "description_field": "Description",
        "status_field": "Status",
        "closed_field": "IsClosed",
        "closed_at_field": "ClosedDate",
        "closed_at_type": "datetime",
        "contact_field": "ContactId",
        # The child relationship of Case.ContactId on Contact (and of Case.AccountId on Account).
        "person_records_relationship": "Cases",
        "origin_field": "Origin",
        "owner_field": "OwnerId",
        "event_date_fields": [],
        "note_object": "CaseComment",
        "note_parent_field": "ParentId",
        "note_body_field": "CommentBody",
        "note_title_field": None,
        # CaseComment.CommentBody holds at most 4,000 bytes.
        "note_max_bytes": 4000,
        # A private comment: not shown to the customer in portals.
        "note_fields": {"IsPublished": False},
    },
    OPPORTUNITY: {
        "subject_field": "Name",
        "subject_max_length": 120,
        "description_field": "Description",
        "status_field": "StageName",
        "closed_field": "IsClosed",
        "closed_at_field": "CloseDate",
        "closed_at_type": "date",
        "contact_field": "ContactId",
        "person_records_relationship": "Opportunities",
        "origin_field": None,
        "owner_field": "OwnerId",
        # CloseDate is required on create: crmhub sets it to the event's date.
        "event_date_fields": ["CloseDate"],
        "note_object": "Note",
        "note_parent_field": "ParentId",
        "note_body_field": "Body",
        "note_title_field": "Title",
        # Note.Body holds at most 32,000 characters; counted in bytes to stay safe.
        "note_max_bytes": 32000,
        "note_fields": {"IsPrivate": True},
    },
}

REQUIRED_WITHOUT_PRESET = (
    "subject_field",
    "description_field",
    "status_field",
    "closed_field",
    "closed_at_field",
    "contact_field",
    "person_records_relationship",
    "note_object",
    "note_parent_field",
    "note_body_field",
)
"""Settings an object without a preset must name explicitly."""

GENERIC_DEFAULTS: dict[str, Any] = {
    "subject_max_length": 255,
    "closed_at_type": "datetime",
    "origin_field": None,
    "owner_field": "OwnerId",
    "event_date_fields": [],
    "note_title_field": None,
    "note_max_bytes": 4000,
    "note_fields": {},
}
"""What an object without a preset gets for the settings it may leave out."""


def preset_for(record_object: str) -> dict[str, Any] | None:
    return PRESETS.get(record_object)


def has_default_status(record_object: str) -> bool:
    """Whether the org's default open status can be read (``CaseStatus`` where ``IsDefault``);
    every other object needs ``open_status`` in the settings."""
    return record_object == CASE
