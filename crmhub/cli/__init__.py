"""The ``crmhub`` command line.

Start-up stays fast: this package imports only click. Each command imports the dispatcher,
marshmallow, the plugins and the rest when it runs, so ``crmhub --help`` loads none of them.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import Any

import click

from crmhub.cli.check_cmd import check
from crmhub.cli.common import CrmhubGroup, load_plugins_for_listing
from crmhub.cli.config_cmd import config
from crmhub.cli.new_plugin_cmd import new_plugin
from crmhub.cli.plugins_cmd import plugins
from crmhub.cli.queue_cmd import queue
from crmhub.cli.records import records
from crmhub.cli.replay import replay
from crmhub.cli.title_cmd import title
from crmhub.cli.worker_cmd import worker


def _show_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """``--version``: crmhub's version, then every plugin found, with its version or its error."""
    if not value or ctx.resilient_parsing:
        return
    from crmhub import __version__

    click.echo(f"crmhub {__version__}")
    for info in load_plugins_for_listing().infos:
        kind = " (built-in)" if info.builtin else ""
        problem = f"  failed to load: {info.error}" if info.error else ""
        click.echo(f"  {info.name} {info.version or 'unknown version'}{kind}{problem}")
    ctx.exit(0)


class _BriefFormatter(logging.Formatter):
    """Log lines with an exception's type and message instead of its traceback (kept for -vv)."""

    def formatException(self, ei: Any) -> str:  # noqa: N802 (logging's name)
        return f"  {ei[0].__name__}: {ei[1]}"


def _configure_logging(verbose: int) -> None:
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose == 1 else logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    fmt = "%(levelname)s %(name)s: %(message)s"
    handler.setFormatter(logging.Formatter(fmt) if verbose > 1 else _BriefFormatter(fmt))
    logging.basicConfig(level=level, handlers=[handler])


@click.group(cls=CrmhubGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version", is_flag=True, expose_value=False, is_eager=True, callback=_show_version,
    help="Show crmhub's version and the installed plugins, then exit.",
)
@click.option("-v", "--verbose", count=True, help="Log progress to stderr (-v: info, -vv: debug).")
def cli(verbose: int) -> None:
    """Turn contact-center session events into CRM records, through plugins.

    Commands that need settings read them from --config FILE (default: crmhub.toml in the
    current folder). Exit codes: 0 success, 1 some events failed or were rejected, 2 usage or
    settings error.
    """
    _configure_logging(verbose)


cli.add_command(replay)
cli.add_command(plugins)
cli.add_command(config)
cli.add_command(records)
cli.add_command(title)
cli.add_command(check)
cli.add_command(new_plugin)
cli.add_command(queue)
cli.add_command(worker)


def main(argv: Sequence[str] | None = None) -> None:
    """The ``crmhub`` console script."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="crmhub")
