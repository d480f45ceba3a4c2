"""``crmhub records``: look at and close the built-in ``local`` CRM's records, as an agent would.

These commands read the records file named by ``[crm.local] path``; they refuse (exit 2) when the
settings select another CRM, whose records live in that CRM.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import click

from crmhub.cli.common import EXIT_USAGE, Timestamp, config_option, fail, format_table, load_settings_file

if TYPE_CHECKING:
    from crmhub.local_records import LocalRecords


def _local_records_path(config_path: str | None) -> Path:
    from crmhub.local_crm import records_path
    from crmhub.local_records import CRM_KEY

    settings = load_settings_file(config_path)
    if settings.crm != CRM_KEY:
        fail(f"these commands work on the local CRM's records; the settings select {settings.crm!r}", EXIT_USAGE)
    return records_path(settings.crm_settings, settings.config_dir)


def _open(path: Path) -> "LocalRecords | None":
    """The records file, or None when nothing was recorded yet (it is not created here)."""
    from crmhub.local_records import LocalRecords

    return LocalRecords(path) if path.exists() else None


def _when(value: datetime | None) -> str:
    return value.isoformat() if value else "-"


@click.group(invoke_without_command=True, short_help="List or close the local CRM's records.")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON Lines, one record per line.")
@click.pass_context
def records(ctx: click.Context, config_path: str | None, as_json: bool) -> None:
    """List the local CRM's records (a table, or JSON Lines with --json)."""
    ctx.obj = config_path
    if ctx.invoked_subcommand is not None:
        return
    store = _open(_local_records_path(config_path))
    found = store.all() if store is not None else []
    if as_json:
        for record in found:
            click.echo(json.dumps(record.to_dict(), ensure_ascii=False, separators=(",", ":")))
        return
    if not found:
        click.echo("no records")
        return
    rows = [
        (
            str(r.id), r.status, _when(r.created_at), _when(r.closed_at), r.session_id,
            r.leaf_queue_id or "-", str(len(r.notes)), r.title,
        )
        for r in found
    ]
    click.echo(format_table(("ID", "STATUS", "CREATED", "CLOSED", "SESSION", "QUEUE", "NOTES", "TITLE"), rows))


@records.command("close")
@click.argument("record_id", metavar="ID")
@click.option("--at", type=Timestamp(), default=None, help="When it was closed (RFC 3339). Default: now.")
@config_option
@click.pass_obj
def close(parent_config: str | None, record_id: str, at: datetime | None, config_path: str | None) -> None:
    """Close the local record ID, as an agent would (for trying rules 1 and 2)."""
    from crmhub.local_records import UnknownRecord

    store = _open(_local_records_path(config_path or parent_config))
    if store is None:
        fail(f"no local record with id {record_id!r}")
    try:
        closed = store.close(record_id, at or datetime.now(timezone.utc))
    except UnknownRecord as error:
        fail(str(error))
    click.echo(f"record {closed.id} closed at {_when(closed.closed_at)}")
