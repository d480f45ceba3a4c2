"""``crmhub queue``: look at the work waiting for the CRM, put failed work back, drop an item.

Works on the store alone (no CRM call): ``retry`` only makes failed items due again; ``crmhub
worker`` (or the host's ``Dispatcher.retry_queued``) runs them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from crmhub.cli.common import config_option, fail, format_table, load_settings_file

if TYPE_CHECKING:
    from crmhub.core.store import Store, WorkItem


@contextmanager
def _open_store(config_path: str | None) -> Iterator["Store"]:
    from crmhub.core.store import open_store

    store = open_store(load_settings_file(config_path).store_url)
    try:
        yield store
    finally:
        store.close()


def _item_dict(item: "WorkItem") -> dict[str, object]:
    return {
        "seq": item.seq, "status": item.status, "session_id": item.session_id, "event_id": item.event_id,
        "type": item.event.get("type"), "attempts": item.attempts, "last_error": item.last_error,
        "not_before": item.not_before.isoformat() if item.not_before else None,
    }


@click.group(short_help="List, retry or drop queued and failed events.")
@config_option
@click.pass_context
def queue(ctx: click.Context, config_path: str | None) -> None:
    """Work waiting for the CRM (pending) and work the CRM refused (failed)."""
    ctx.obj = config_path


@queue.command("list")
@config_option
@click.option("--failed", "only_failed", is_flag=True, help="Only the failed items.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON Lines, one item per line.")
@click.pass_obj
def list_items(group_config: str | None, config_path: str | None, only_failed: bool, as_json: bool) -> None:
    """List pending and failed items, oldest first per status."""
    with _open_store(config_path or group_config) as store, store.transaction() as tx:
        items = tx.failed_work() if only_failed else tx.pending_work() + tx.failed_work()
    if as_json:
        for item in items:
            click.echo(json.dumps(_item_dict(item), ensure_ascii=False, separators=(",", ":")))
        return
    if not items:
        click.echo("no failed items" if only_failed else "the queue is empty")
        return
    rows = [
        [str(d["seq"]), str(d["status"]), str(d["session_id"]), str(d["event_id"]), str(d["type"]),
         str(d["attempts"]), str(d["not_before"] or "now"), str(d["last_error"] or "")]
        for d in map(_item_dict, items)
    ]
    click.echo(format_table(["SEQ", "STATUS", "SESSION", "EVENT", "TYPE", "ATTEMPTS", "DUE", "LAST ERROR"], rows))


@queue.command()
@config_option
@click.argument("seq", type=int, required=False)
@click.option("--all-failed", is_flag=True, help="Every failed item.")
@click.pass_obj
def retry(group_config: str | None, config_path: str | None, seq: int | None, all_failed: bool) -> None:
    """Put a failed item (SEQ) or every failed one back in the queue, due at once.

    It is then decided from its session's state at that time: skipped if the session has a
    record by then.
    """
    if (seq is None) == (not all_failed):
        fail("give either SEQ or --all-failed", 2)
    with _open_store(config_path or group_config) as store, store.transaction() as tx:
        moved = tx.requeue_failed(None if all_failed else seq)
    if seq is not None and not moved:
        fail(f"no failed item with number {seq}")
    click.echo(f"{len(moved)} item(s) back in the queue: run `crmhub worker --once` to retry now")


@queue.command()
@config_option
@click.argument("seq", type=int)
@click.pass_obj
def drop(group_config: str | None, config_path: str | None, seq: int) -> None:
    """Remove item SEQ for good; its event's outcome stays recorded (a redelivery is a duplicate)."""
    with _open_store(config_path or group_config) as store, store.transaction() as tx:
        dropped = tx.drop_work(seq)
    if not dropped:
        fail(f"no queued or failed item with number {seq}")
    click.echo(f"item {seq} dropped")
