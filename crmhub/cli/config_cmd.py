"""``crmhub config``: ``check`` validates a settings file without touching the CRM or the store;
``init`` writes a commented one for a CRM, from the schemas that will validate it."""

from __future__ import annotations

import click

from crmhub.cli.common import (
    DEFAULT_CONFIG, EXIT_USAGE, config_option, fail, load_plugins_reporting, load_settings_file, settings_error_lines,
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


@config.command("init", short_help="Write a commented settings file for one CRM.")
@click.option("--crm", "crm", required=True, metavar="NAME", help="The CRM plugin's key (see `crmhub plugins`).")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, allow_dash=True), default=DEFAULT_CONFIG, show_default=True,
    help="Where to write the file; - for stdout.",
)
@click.option("--force", is_flag=True, help="Overwrite the output file if it exists.")
def init(crm: str, output: str, force: bool) -> None:
    """Write a settings file for the CRM NAME, generated from its plugin's settings schema.

    Every key of [crm.NAME], [record_creation] and [store] is listed with its default and what it
    means. Required keys are set to an example to replace; secrets are read from environment
    variables (CRMHUB_<CRM>_<KEY>); every other key is commented out. An existing file is kept
    unless --force is given.
    """
    from crmhub.settings_template import settings_template

    schema = load_plugins_reporting().hooks.for_crm(crm).settings_schema()
    template = settings_template(crm, schema)
    if output == "-":
        click.echo(template.text, nl=False)
        return
    try:
        with open(output, "w" if force else "x", encoding="utf-8") as file:
            file.write(template.text)
    except FileExistsError:
        fail(f"{output} exists; use --force to overwrite it", EXIT_USAGE)
    except OSError as error:
        fail(f"cannot write {output}: {error.strerror or error}", EXIT_USAGE)
    click.echo(f"wrote {output} for the CRM {crm!r}. Before using it:")
    if template.examples_to_replace:
        click.echo(f"  - replace the example values of {', '.join(template.examples_to_replace)}")
    for variable in template.environment_variables:
        click.echo(f"  - set the environment variable {variable}")
    click.echo(f"  - check it: crmhub config check {output}")
