"""A CRM plugin that answers at once and keeps nothing: what remains to time is crmhub's own work.

It implements every CRM hook as the contract asks, without a CRM behind it: ``find_open_record``
answers with the remembered record (the store's hint) as still open, so a later session of the
same end user and leaf queue is appended; ``create_record`` hands out increasing ids. The
benchmarks register it under the name ``noop`` with :func:`crmhub.testing.register_plugin`, so
crmhub loads it through its normal plugin loading.
"""

from __future__ import annotations

import itertools
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from marshmallow import RAISE, Schema

from crmhub.core.hookspecs import hookimpl
from crmhub.core.models import CrmRecord, NewRecord, RecordQuery, SessionNote

CRM_KEY = "noop"


class _NoSettings(Schema):
    class Meta:
        unknown = RAISE


class NoopClient:
    """Hands out record ids (``prefix`` + a counter); thread-safe, as the dispatcher may call it
    from several threads."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def next_id(self) -> str:
        with self._lock:
            return f"{self.prefix}{next(self._ids)}"


def _record(record_id: str, leaf_queue_id: str | None, at: Any) -> CrmRecord:
    return CrmRecord(crm=CRM_KEY, id=record_id, status="open", crm_status="open", created_at=at, leaf_queue_id=leaf_queue_id)


@hookimpl
def crm_name() -> str:
    return CRM_KEY


@hookimpl
def crm_settings_schema() -> Schema:
    return _NoSettings()


@hookimpl
def crm_client(settings: Mapping[str, Any], config_dir: Path) -> NoopClient:
    return NoopClient()


@hookimpl
def find_open_record(client: NoopClient, query: RecordQuery) -> CrmRecord | None:
    return _record(query.hint, query.leaf_queue.id, None) if query.hint else None


@hookimpl
def create_record(client: NoopClient, record: NewRecord) -> CrmRecord:
    queue = record.session.leaf_queue.id if record.session.leaf_queue else None
    return _record(client.next_id(), queue, record.at)


@hookimpl
def append_session(client: NoopClient, record: CrmRecord, note: SessionNote) -> CrmRecord:
    return record


@hookimpl
def reopen(client: NoopClient, record: CrmRecord, note: SessionNote) -> CrmRecord:
    return replace(record, status="open", crm_status="open", closed_at=None)


@hookimpl
def find_record_for_session(client: NoopClient, session_id: str) -> CrmRecord | None:
    return None


@hookimpl
def format_tags(tags: Sequence[str]) -> list[str]:
    return list(tags)


def dispatcher(store: Path, rules: Mapping[str, Any]) -> Any:
    """A dispatcher on the no-op CRM with its SQLite store at ``store``, loaded the normal way."""
    from crmhub import Dispatcher
    from crmhub.testing import register_plugin

    with register_plugin(sys.modules[__name__], CRM_KEY):
        return Dispatcher.from_config(
            {"crm": {"plugin": CRM_KEY}, "record_creation": dict(rules), "store": {"url": f"sqlite:///{store}"}},
            environ={"CRMHUB_LOAD_PLUGINS": f"builtin,{CRM_KEY}"},
        )
