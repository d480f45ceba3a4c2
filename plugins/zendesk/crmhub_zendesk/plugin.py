"""The Zendesk hook implementations: thin, each hands over to the module that does the work."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from marshmallow import Schema

from crmhub.core.hookspecs import hookimpl
from crmhub.core.models import CheckResult, CrmRecord, NewRecord, RecordQuery, SessionNote
from crmhub.core.tags import zendesk_tag
from crmhub_zendesk import checks, tickets
from crmhub_zendesk.client import ZendeskClient
from crmhub_zendesk.records import CRM_KEY
from crmhub_zendesk.settings import ZendeskSettings, ZendeskSettingsSchema


@hookimpl
def crm_name() -> str:
    return CRM_KEY


@hookimpl
def crm_settings_schema() -> Schema:
    return ZendeskSettingsSchema()


@hookimpl
def crm_client(settings: Mapping[str, Any], config_dir: Path) -> ZendeskClient:
    return ZendeskClient(ZendeskSettings.from_mapping(settings))


@hookimpl
def find_open_record(client: ZendeskClient, query: RecordQuery) -> CrmRecord | None:
    return tickets.find_candidate(client, query)


@hookimpl
def create_record(client: ZendeskClient, record: NewRecord) -> CrmRecord:
    return tickets.create_ticket(client, record)


@hookimpl
def append_session(client: ZendeskClient, record: CrmRecord, note: SessionNote) -> CrmRecord:
    return tickets.add_session(client, record, note, reopen=False)


@hookimpl
def reopen(client: ZendeskClient, record: CrmRecord, note: SessionNote) -> CrmRecord:
    return tickets.add_session(client, record, note, reopen=True)


@hookimpl
def find_record_for_session(client: ZendeskClient, session_id: str) -> CrmRecord | None:
    return tickets.ticket_for_session(client, session_id)


@hookimpl
def check_crm(client: ZendeskClient) -> list[CheckResult]:
    return checks.check_crm(client)


@hookimpl
def format_tags(tags: Sequence[str]) -> list[str]:
    """Zendesk tags: lower case, every run of other characters one ``_`` (``voice_inbound_ivr``)."""
    return [zendesk_tag(tag) for tag in tags]
