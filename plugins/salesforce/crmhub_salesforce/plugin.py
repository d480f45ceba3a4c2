"""The hook implementations: thin wrappers that hand each call to :class:`SalesforceClient`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from marshmallow import Schema

from crmhub.core.hookspecs import hookimpl
from crmhub.core.models import CheckResult, CrmRecord, NewRecord, RecordQuery, SessionNote
from crmhub_salesforce import checks
from crmhub_salesforce.client import SalesforceClient
from crmhub_salesforce.config import config_from_settings
from crmhub_salesforce.records import CRM_KEY
from crmhub_salesforce.settings import SalesforceSettingsSchema


@hookimpl
def crm_name() -> str:
    return CRM_KEY


@hookimpl
def crm_settings_schema() -> Schema:
    return SalesforceSettingsSchema()


@hookimpl
def crm_client(settings: Mapping[str, Any], config_dir: Path) -> SalesforceClient:
    return SalesforceClient(config_from_settings(settings, config_dir))


@hookimpl
def find_open_record(client: SalesforceClient, query: RecordQuery) -> CrmRecord | None:
    return client.find_open_record(query)


@hookimpl
def create_record(client: SalesforceClient, record: NewRecord) -> CrmRecord:
    return client.create_record(record)


@hookimpl
def append_session(client: SalesforceClient, record: CrmRecord, note: SessionNote) -> CrmRecord:
    return client.append_session(record, note)


@hookimpl
def reopen(client: SalesforceClient, record: CrmRecord, note: SessionNote) -> CrmRecord:
    return client.reopen(record, note)


@hookimpl
def find_record_for_session(client: SalesforceClient, session_id: str) -> CrmRecord | None:
    return client.find_record_for_session(session_id)


@hookimpl
def check_crm(client: SalesforceClient) -> list[CheckResult]:
    return checks.check_crm(client)


@hookimpl
def format_tags(tags: Sequence[str]) -> list[str]:
    """Salesforce has no native tags: names are kept as they are (trimmed), and the client writes
    them only into the ``tags_field`` the settings name (a multi-select picklist or text field)."""
    return [tag.strip() for tag in tags]
