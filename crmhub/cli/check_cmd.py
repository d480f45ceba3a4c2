"""``crmhub check``: ask the configured CRM, with read-only calls, whether crmhub can work with it.

``config check`` judges the settings file alone; this command goes to the CRM: the base URL
answers, the credentials are accepted, the API user may do what crmhub needs, and the fields,
statuses, groups or queues the settings name exist there. The selected CRM plugin decides what to
check (its ``check_crm`` hook); this command prints one line per check and never a traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from crmhub.cli.common import DEFAULT_CONFIG, EXIT_FAILED, EXIT_OK, config_option, load_plugins_reporting, load_settings_file

if TYPE_CHECKING:
    from crmhub.core.models import CheckResult


def result_line(result: "CheckResult") -> str:
    """``ok   name: detail`` or ``FAIL name: detail`` (no colon when there is no detail)."""
    label = "ok  " if result.ok else "FAIL"
    return f"{label} {result.name}: {result.detail}" if result.detail else f"{label} {result.name}"


@click.command("check", short_help="Check the configured CRM with read-only calls.")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@config_option
def check(file: str | None, config_path: str | None) -> None:
    """Check the CRM the settings FILE (or --config FILE; default crmhub.toml) select.

    Each check is one line, "ok   NAME" or "FAIL NAME: why". A check that cannot run because
    an earlier one failed (nothing works without credentials) is left out. Nothing is written to
    the CRM. Exit codes: 0 every check passed, 1 one failed, 2 the settings are invalid.
    """
    from crmhub.core.models import CheckResult

    if file and config_path and file != config_path:
        raise click.UsageError("give the settings file once: as FILE or with --config")
    plugins = load_plugins_reporting()
    settings = load_settings_file(file or config_path or DEFAULT_CONFIG, plugins)
    hooks = plugins.hooks.for_crm(settings.crm)
    try:
        client = hooks.client(settings.crm_settings, settings.config_dir)
        results = hooks.check_crm(client, settings.crm_settings)
    except Exception as error:  # a plugin's own failure is the result of the check, not a crash
        results = [CheckResult(settings.crm, False, f"the {settings.crm} plugin could not run its checks: {error}")]
    if not results:
        results = [CheckResult(settings.crm, False, f"the {settings.crm} plugin made no checks")]
    for result in results:
        click.echo(result_line(result))
    failed = sum(not result.ok for result in results)
    click.echo(f"{settings.crm}: {len(results) - failed} ok, {failed} failed")
    raise click.exceptions.Exit(EXIT_FAILED if failed else EXIT_OK)
