"""The Freshdesk plugin's hook implementations: thin calls into :class:`FreshdeskConnector`.

Select it with ``[crm] plugin = "freshdesk"`` and configure ``[crm.freshdesk]``
(:mod:`crmhub_freshdesk.settings`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from marshmallow import Schema

from crmhub.core.hookspecs import hookimpl
from crmhub.core.models import CheckResult, CrmRecord, NewRecord, RecordQuery, SessionNote

from crmhub_freshdesk import checks
from crmhub_freshdesk.connector import FreshdeskConnector
from crmhub_freshdesk.records import CRM_KEY
from crmhub_freshdesk.settings import FreshdeskSettings, FreshdeskSettingsSchema
from crmhub_freshdesk.tag_form import freshdesk_tag


@hookimpl
def crm_name() -> str:
    return CRM_KEY


@hookimpl
def crm_settings_schema() -> Schema:
    return FreshdeskSettingsSchema()


@hookimpl
def crm_client(settings: Mapping[str, Any], config_dir: Path) -> FreshdeskConnector:
    return FreshdeskConnector(FreshdeskSettings.from_loaded(settings))


@hookimpl
def find_open_record(client: FreshdeskConnector, query: RecordQuery) -> CrmRecord | None:
    return client.find_open_record(query)


@hookimpl
def create_record(client: FreshdeskConnector, record: NewRecord) -> CrmRecord:
    return client.create_record(record)


@hookimpl
def append_session(client: FreshdeskConnector, record: CrmRecord, note: SessionNote) -> CrmRecord:
    return client.append_session(record, note)


@hookimpl
def reopen(client: FreshdeskConnector, record: CrmRecord, note: SessionNote) -> CrmRecord:
    return client.reopen(record, note)


@hookimpl
def find_record_for_session(client: FreshdeskConnector, session_id: str) -> CrmRecord | None:
    return client.find_record_for_session(session_id)


@hookimpl
def check_crm(client: FreshdeskConnector) -> list[CheckResult]:
    return checks.check_crm(client)


@hookimpl
def format_tags(tags: Sequence[str]) -> list[str]:
    """Freshdesk keeps the names as they are (within its 32-character tag limit)."""
    return [freshdesk_tag(tag) for tag in tags]
