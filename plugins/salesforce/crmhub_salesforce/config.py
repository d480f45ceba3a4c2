"""The loaded settings as typed, immutable values the client works with.

Built once per dispatcher from the section :class:`~crmhub_salesforce.settings.SalesforceSettingsSchema`
loaded. Secrets are kept out of every ``repr`` so that logging a client or its settings shows none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crmhub_salesforce.settings import JWT_BEARER


@dataclass(frozen=True)
class AuthSettings:
    """How to get an access token, and where the API lives."""

    flow: str
    client_id: str
    login_url: str
    instance_url: str | None
    """Fixed instance URL (``instance_url`` or ``base_url``); None: take the token response's."""
    client_secret: str | None = field(default=None, repr=False)
    username: str | None = None
    private_key: str | None = field(default=None, repr=False)
    private_key_file: Path | None = None
    jwt_audience: str = "https://login.salesforce.com"
    timeout_seconds: float = 10.0

    @property
    def token_url(self) -> str:
        return f"{self.login_url}/services/oauth2/token"


@dataclass(frozen=True)
class PersonLookup:
    """One object end users are matched against, the record field that links a match, and the child
    relationship through which a query on this object reads the person's records (``Cases``)."""

    object: str
    record_field: str
    phone_fields: tuple[str, ...]
    email_fields: tuple[str, ...]
    external_id_field: str | None
    records_relationship: str


@dataclass(frozen=True)
class RecordFields:
    """The record object crmhub writes (Case by default) and the names of the fields it uses."""

    object: str
    subject_field: str
    subject_max_length: int
    description_field: str
    status_field: str
    closed_field: str
    closed_at_field: str
    closed_at_type: str
    origin_field: str | None
    origin_values: Mapping[str, str]
    owner_field: str | None
    queue_owners: Mapping[str, str]
    leaf_queue_field: str
    session_id_field: str
    upsert_field: str | None
    tags_field: str | None
    tags_separator: str
    event_date_fields: tuple[str, ...]
    open_status: str | None

    def select_list(self) -> list[str]:
        """The fields every record query selects (what :mod:`records` parses)."""
        wanted = [
            "Id", self.status_field, self.closed_field, self.closed_at_field, "CreatedDate",
            self.leaf_queue_field, self.session_id_field,
        ]
        return list(dict.fromkeys(wanted))


@dataclass(frozen=True)
class NoteFields:
    """Where an appended session's note goes (``CaseComment`` on a Case)."""

    object: str
    parent_field: str
    body_field: str
    title_field: str | None
    max_bytes: int
    static_fields: Mapping[str, Any]


@dataclass(frozen=True)
class SalesforceConfig:
    auth: AuthSettings
    api_version: str
    default_phone_region: str | None
    people: tuple[PersonLookup, ...]
    """Tried in order; the first one is the object new people are created in."""
    create_contacts: bool
    person_cache_seconds: int
    record: RecordFields
    note: NoteFields

    @property
    def contact_lookup(self) -> PersonLookup:
        return self.people[0]


def _key_file(value: str | None, config_dir: Path) -> Path | None:
    if not value:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else (config_dir / path).resolve()


def config_from_settings(settings: Mapping[str, Any], config_dir: Path) -> SalesforceConfig:
    """Turn the loaded ``[crm.salesforce]`` mapping into a :class:`SalesforceConfig`."""
    s = dict(settings)
    base_url = (s.get("base_url") or "").rstrip("/") or None
    instance_url = base_url or ((s.get("instance_url") or "").rstrip("/") or None)
    auth = AuthSettings(
        flow=s["auth_flow"],
        client_id=s["client_id"],
        login_url=base_url or s["login_url"].rstrip("/"),
        instance_url=instance_url,
        client_secret=s.get("client_secret"),
        username=s.get("username"),
        private_key=s.get("private_key") if s["auth_flow"] == JWT_BEARER else None,
        private_key_file=_key_file(s.get("private_key_file"), config_dir),
        jwt_audience=s["jwt_audience"],
        timeout_seconds=float(s["timeout_seconds"]),
    )
    contact = PersonLookup(
        object=s["person_object"],
        record_field=s["contact_field"],
        phone_fields=tuple(s["person_phone_fields"]),
        email_fields=tuple(s["person_email_fields"]),
        external_id_field=s.get("person_external_id_field"),
        records_relationship=s["person_records_relationship"],
    )
    people = [contact]
    secondary = s.get("secondary_lookup")
    if secondary:
        people.append(
            PersonLookup(
                object=secondary["object"],
                record_field=secondary["record_field"],
                phone_fields=tuple(secondary.get("phone_fields") or ()),
                email_fields=tuple(secondary.get("email_fields") or ()),
                external_id_field=secondary.get("external_id_field"),
                records_relationship=secondary["records_relationship"],
            )
        )
    record = RecordFields(
        object=s["record_object"],
        subject_field=s["subject_field"],
        subject_max_length=s["subject_max_length"],
        description_field=s["description_field"],
        status_field=s["status_field"],
        closed_field=s["closed_field"],
        closed_at_field=s["closed_at_field"],
        closed_at_type=s["closed_at_type"],
        origin_field=s.get("origin_field"),
        origin_values=dict(s["origin_values"]),
        owner_field=s.get("owner_field"),
        queue_owners=dict(s["queue_owners"]),
        leaf_queue_field=s["leaf_queue_field"],
        session_id_field=s["session_id_field"],
        upsert_field=s.get("upsert_field"),
        tags_field=s.get("tags_field"),
        tags_separator=s["tags_separator"],
        event_date_fields=tuple(s.get("event_date_fields") or ()),
        open_status=s.get("open_status"),
    )
    note = NoteFields(
        object=s["note_object"],
        parent_field=s["note_parent_field"],
        body_field=s["note_body_field"],
        title_field=s.get("note_title_field"),
        max_bytes=s["note_max_bytes"],
        static_fields=dict(s.get("note_fields") or {}),
    )
    return SalesforceConfig(
        auth=auth,
        api_version=s["api_version"],
        default_phone_region=s.get("default_phone_region"),
        people=tuple(people),
        create_contacts=s["create_contacts"],
        person_cache_seconds=s["person_cache_seconds"],
        record=record,
        note=note,
    )
