"""``crmhub plugins``: what is installed, in which version, with which hooks, and what failed."""

from __future__ import annotations

import json

import click

from crmhub.cli.common import format_table, load_plugins_for_listing


@click.command(short_help="List installed plugins, versions, hooks and load errors.")
@click.option("--all", "show_all", is_flag=True, help="Include the built-in plugins (builtin, local).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
def plugins(show_all: bool, as_json: bool) -> None:
    """List the installed plugins: name, version, CRM key, hooks and load errors.

    A plugin that failed to load is listed with its error; the command still succeeds.
    """
    infos = [info for info in load_plugins_for_listing().infos if show_all or not info.builtin]
    if as_json:
        click.echo(json.dumps([info.to_dict() for info in infos], indent=2))
        return
    if not infos:
        click.echo("no plugins installed (--all shows the built-in ones)")
        return
    rows = [
        (
            info.name + (" (built-in)" if info.builtin else ""),
            info.version or "?",
            info.crm or "-",
            ", ".join(info.hooks) or "-",
            f"failed to load: {info.error}" if info.error else "ok",
        )
        for info in infos
    ]
    click.echo(format_table(("NAME", "VERSION", "CRM", "HOOKS", "STATUS"), rows))
