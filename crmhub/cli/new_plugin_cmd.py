"""``crmhub new-plugin NAME``: start a CRM plugin from a complete, tested distribution."""

from __future__ import annotations

from pathlib import Path

import click

from crmhub.cli.common import EXIT_USAGE, fail


def _valid_name(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    from crmhub.new_plugin import NewPluginError, check_name

    try:
        return check_name(value)
    except NewPluginError as error:
        raise click.BadParameter(str(error)) from None


@click.command("new-plugin", short_help="Write a new CRM plugin distribution to start from.")
@click.argument("name", callback=_valid_name)
@click.option(
    "--output", "output", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
    show_default=True, help="Folder to write crmhub-NAME/ into.",
)
def new_plugin(name: str, output: Path) -> None:
    """Write crmhub-NAME/, a plugin distribution for the CRM key NAME (a lower-case identifier).

    Every CRM hook is implemented against a placeholder REST API (https://api.example.invalid),
    with recorded fixtures and tests that pass as written. Its README lists what to replace to
    make it talk to the real CRM. An existing crmhub-NAME/ folder is never overwritten.
    """
    from crmhub.new_plugin import NewPluginError, write_plugin

    try:
        target = write_plugin(name, output)
    except NewPluginError as error:
        fail(str(error), EXIT_USAGE)
    click.echo(f"wrote {target}/ (distribution crmhub-{name}, module crmhub_{name}, entry point {name!r})")
    click.echo("next:")
    click.echo(f"  cd {target}")
    click.echo("  pip install -e '.[test]'")
    click.echo("  pytest                      # the generated tests pass as written")
    click.echo("then replace the placeholder API as README.md lists.")
