"""The built-in ``local`` CRM plugin: every CRM hook, against records in a SQLite file.

It exists so that anyone can run the whole pipeline with no CRM account, and as the reference
implementation for plugin authors: it implements each hook exactly as a real CRM plugin must,
including the leaf-queue mark (the ``leaf_queue_id`` column), the session id on every record, reopen
and closed-within-N-days. Settings: ``[crm.local] path = "crmhub-records.db"`` (relative to the
settings file).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from marshmallow import RAISE, Schema, fields

from crmhub.core import tags as tag_rules
from crmhub.core.errors import PermanentCrmError
from crmhub.core.hookspecs import hookimpl
from crmhub.core.identity import end_user_key, end_user_keys
from crmhub.core.models import CrmRecord, NewRecord, RecordQuery, SessionNote
from crmhub.core.rules import pick_record
from crmhub.local_records import CRM_KEY, LocalRecords, UnknownRecord

DEFAULT_PATH = "crmhub-records.db"


class LocalSettingsSchema(Schema):
    class Meta:
        unknown = RAISE

    path = fields.String(load_default=DEFAULT_PATH)


def records_path(settings: Mapping[str, Any], config_dir: Path) -> Path:
    path = Path(settings.get("path") or DEFAULT_PATH)
    return path if path.is_absolute() else (config_dir / path).resolve()


@hookimpl
def crm_name() -> str:
    return CRM_KEY


@hookimpl
def crm_settings_schema() -> Schema:
    return LocalSettingsSchema()


@hookimpl
def crm_client(settings: Mapping[str, Any], config_dir: Path) -> LocalRecords:
    return LocalRecords(records_path(settings, config_dir))


@hookimpl
def find_open_record(client: LocalRecords, query: RecordQuery) -> CrmRecord | None:
    key = end_user_key(query.end_user)
    if key is None:
        return None
    candidates = [r.to_crm_record() for r in client.candidates(key, query.leaf_queue.id)]
    return pick_record(candidates, query.closed_since)


@hookimpl
def create_record(client: LocalRecords, record: NewRecord) -> CrmRecord:
    session = record.session
    created = client.create(
        session_id=record.session_id,
        title=record.title,
        description=record.description,
        tags=list(record.tags),
        end_user=session.end_user.to_dict() if session.end_user else None,
        end_user_keys=end_user_keys(session.end_user),
        leaf_queue_id=session.leaf_queue.id if session.leaf_queue else None,
        at=record.at,
    )
    return created.to_crm_record()


@hookimpl
def append_session(client: LocalRecords, record: CrmRecord, note: SessionNote) -> CrmRecord:
    return _add(client, record, note, reopen=False)


@hookimpl
def reopen(client: LocalRecords, record: CrmRecord, note: SessionNote) -> CrmRecord:
    return _add(client, record, note, reopen=True)


def _add(client: LocalRecords, record: CrmRecord, note: SessionNote, reopen: bool) -> CrmRecord:
    try:
        updated = client.add_session(
            record.id, session_id=note.session.id, text=note.text, tags=list(note.tags), at=note.at, reopen=reopen
        )
    except UnknownRecord as error:  # deleted since it was found: no retry can help
        raise PermanentCrmError(str(error)) from error
    return updated.to_crm_record()


@hookimpl
def find_record_for_session(client: LocalRecords, session_id: str) -> CrmRecord | None:
    found = client.by_session(session_id)
    return found.to_crm_record() if found else None


@hookimpl
def format_tags(tags: Sequence[str]) -> list[str]:
    """Local records keep tags in Freshdesk's form: the names unchanged."""
    return [tag_rules.freshdesk_tag(tag) for tag in tags]
