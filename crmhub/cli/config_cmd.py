"""``crmhub config check``: validate a settings file without touching the CRM or the store."""

from __future__ import annotations

import click

from crmhub.cli.common import (
    DEFAULT_CONFIG, EXIT_USAGE, config_option, load_plugins_reporting, load_settings_file, settings_error_lines,
)


@click.group()
def config() -> None:
    """Settings-file commands."""


@config.command("check", short_help="Check a settings file and explain its rules.")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@config_option
def check(file: str | None, config_path: str | None) -> None:
    """Check the settings FILE (or --config FILE; default crmhub.toml) and explain the rules.

    Every problem is listed (key: problem) and the exit code is 2; a missing environment
    variable is one of them. Valid settings print "ok", any warnings, and the effective rules
    in plain words. Only the settings are checked: the CRM is not contacted.
    """
    from crmhub.cli.explain import explain
    from crmhub.core.errors import SettingsError

    if file and config_path and file != config_path:
        raise click.UsageError("give the settings file once: as FILE or with --config")
    path = file or config_path or DEFAULT_CONFIG
    plugins = load_plugins_reporting()
    try:
        settings = load_settings_file(path, plugins)
    except SettingsError as error:
        problems = settings_error_lines(error)
        click.echo(f"{path}: {len(problems)} problem{'s' if len(problems) != 1 else ''}:", err=True)
        for line in problems:
            click.echo(f"  {line}", err=True)
        raise click.exceptions.Exit(EXIT_USAGE) from None
    click.echo(f"ok: {path}")
    for warning in settings.warnings:
        click.echo(f"warning: {warning}")
    for line in explain(settings, plugins.hooks):
        click.echo(line)
