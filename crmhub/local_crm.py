"""The built-in ``local`` CRM plugin: every CRM hook, against records in a SQLite file.

It exists so that anyone can run the whole pipeline with no CRM account, and as the reference
implementation for plugin authors: it implements each hook exactly as a real CRM plugin must,
including the leaf-queue mark (the ``leaf_queue_id`` column), the session id on every record, reopen
and closed-within-N-days, and ``crmhub check`` (the records file opens and is crmhub's). Settings:
``[crm.local] path = "crmhub-records.db"`` (relative to the settings file).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from marshmallow import RAISE, Schema, fields

from crmhub.core import tags as tag_rules
from crmhub.core.errors import PermanentCrmError
from crmhub.core.hookspecs import hookimpl
from crmhub.core.identity import end_user_key, end_user_keys
from crmhub.core.models import CheckResult, CrmRecord, NewRecord, RecordQuery, SessionNote
from crmhub.core.rules import pick_record
from crmhub.local_records import CRM_KEY, SCHEMA, LocalRecords, UnknownRecord

DEFAULT_PATH = "crmhub-records.db"


class LocalSettingsSchema(Schema):
    class Meta:
        unknown = RAISE

    path = fields.String(
        load_default=DEFAULT_PATH,
        metadata={"description": "The SQLite file that holds the local CRM's records, relative to this file's folder."},
    )


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
def check_crm(client: LocalRecords) -> list[CheckResult]:
    """The records file can be opened (or created, where it does not exist yet) and is a crmhub
    records database, not another program's SQLite file. Read-only: the file is opened with
    ``mode=ro`` and nothing is created here."""
    path = client.path
    usable = _check_records_file(path)
    if not usable.ok or not path.exists():
        return [usable]
    return [usable, _check_records_database(path)]


def _check_records_file(path: Path) -> CheckResult:
    name = "records file"
    if path.is_dir():
        return CheckResult(name, False, f"{path} is a folder; [crm.local] path must name a file")
    if path.exists():
        if not os.access(path, os.R_OK | os.W_OK):
            return CheckResult(name, False, f"{path} cannot be both read and written by this user")
        return CheckResult(name, True, str(path))
    folder = next(parent for parent in path.parents if parent.exists())
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        return CheckResult(name, False, f"{path} does not exist and cannot be created: {folder} is not a writable folder")
    return CheckResult(name, True, f"{path} does not exist yet; it will be created with the first record")


def _tables(conn: sqlite3.Connection) -> dict[str, set[str]]:
    """Table name → column names of a SQLite database."""
    names = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    return {name: {row[1] for row in conn.execute(f'PRAGMA table_info("{name}")')} for name in names}


def _crmhub_tables() -> dict[str, set[str]]:
    """The tables and columns :data:`SCHEMA` makes, read from a scratch in-memory database so that
    the check can never drift from the schema."""
    scratch = sqlite3.connect(":memory:")
    try:
        scratch.executescript(SCHEMA)
        return _tables(scratch)
    finally:
        scratch.close()


def _check_records_database(path: Path) -> CheckResult:
    name = "records database"
    expected = _crmhub_tables()
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            found = _tables(conn)
            lacking = [f"no table {table}" for table in sorted(expected) if table not in found] + [
                f"table {table} lacks {', '.join(sorted(columns - found[table]))}"
                for table, columns in sorted(expected.items()) if table in found and columns - found[table]
            ]
            if not found or lacking:
                counts = None
            else:
                counts = conn.execute("SELECT count(*), coalesce(sum(status = 'open'), 0) FROM records").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as error:
        return CheckResult(name, False, f"{path} cannot be read as a SQLite database: {error}")
    if not found:
        return CheckResult(name, True, "an empty SQLite database; crmhub adds its tables with the first record")
    if not set(found) & set(expected):
        return CheckResult(
            name, False,
            f"{path} holds other tables ({', '.join(sorted(found))}), not crmhub's records: "
            "give [crm.local] path a file of its own",
        )
    if counts is None:
        return CheckResult(name, False, f"{path} is not a crmhub records database: {'; '.join(lacking)}")
    return CheckResult(name, True, f"{counts[0]} records, {counts[1]} open")


@hookimpl
def format_tags(tags: Sequence[str]) -> list[str]:
    """Local records keep tags in Freshdesk's form: the names unchanged."""
    return [tag_rules.freshdesk_tag(tag) for tag in tags]
