"""The crmhub hooks of the Kustomer plugin (entry point ``kustomer``); the work is done in
:mod:`crmhub_kustomer.conversations`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from marshmallow import Schema

from crmhub.core import tags as tag_rules
from crmhub.core.hookspecs import hookimpl
from crmhub.core.models import CheckResult, CrmRecord, NewRecord, RecordQuery, SessionNote
from crmhub_kustomer import checks, conversations
from crmhub_kustomer.client import KustomerClient
from crmhub_kustomer.records import CRM_KEY
from crmhub_kustomer.settings import KustomerSettings, KustomerSettingsSchema


@hookimpl
def crm_name() -> str:
    return CRM_KEY


@hookimpl
def crm_settings_schema() -> Schema:
    return KustomerSettingsSchema()


@hookimpl
def crm_client(settings: Mapping[str, Any], config_dir: Path) -> KustomerClient:
    return KustomerClient(KustomerSettings.from_mapping(settings))


@hookimpl
def find_open_record(client: KustomerClient, query: RecordQuery) -> CrmRecord | None:
    return conversations.find_open_record(client, query)


@hookimpl
def create_record(client: KustomerClient, record: NewRecord) -> CrmRecord:
    return conversations.create_record(client, record)


@hookimpl
def append_session(client: KustomerClient, record: CrmRecord, note: SessionNote) -> CrmRecord:
    return conversations.append_session(client, record, note)


@hookimpl
def reopen(client: KustomerClient, record: CrmRecord, note: SessionNote) -> CrmRecord:
    return conversations.reopen(client, record, note)


@hookimpl
def find_record_for_session(client: KustomerClient, session_id: str) -> CrmRecord | None:
    return conversations.find_record_for_session(client, session_id)


@hookimpl
def check_crm(client: KustomerClient) -> list[CheckResult]:
    return checks.check_crm(client)


@hookimpl
def format_tags(tags: Sequence[str]) -> list[str]:
    """Kustomer's form: ``Voice Inbound (IVR)`` becomes ``Voice Inbound - IVR`` (one for one, in order)."""
    return [tag_rules.kustomer_tag(tag) for tag in tags]
