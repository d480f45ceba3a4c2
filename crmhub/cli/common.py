"""What every command shares: error reporting, the --config option, settings loading, tables.

Errors never reach the user as a traceback: crmhub's own errors are printed as the lines they
carry (a settings error: every key with its problem), anything unexpected as one line.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from crmhub.core.errors import SettingsError
    from crmhub.core.settings import Settings
    from crmhub.plugins import LoadedPlugins

DEFAULT_CONFIG = "crmhub.toml"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
log = logging.getLogger("crmhub.cli")


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    """Print ``Error: message`` on stderr and leave with ``code``."""
    click.echo(f"Error: {message}", err=True)
    raise click.exceptions.Exit(code)


def settings_error_lines(error: "SettingsError") -> list[str]:
    """``key: problem``, one line per problem, of a settings error."""
    return [f"{key}: {problem}" for key, problems in error.errors.items() for problem in problems]


class CrmhubGroup(click.Group):
    """The top-level group: turns every error a command lets through into a message and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except OSError as error:
            if error.errno == errno.EPIPE:  # the reader of our output went away: click's own handling
                raise
            fail(f"{type(error).__name__}: {error}")
        except Exception as error:
            _report(error)


def _report(error: Exception) -> None:
    from crmhub.core.errors import CrmhubError, PluginError, SettingsError

    if isinstance(error, SettingsError):
        click.echo("Error: invalid settings:", err=True)
        for line in settings_error_lines(error):
            click.echo(f"  {line}", err=True)
        raise click.exceptions.Exit(EXIT_USAGE)
    if isinstance(error, PluginError):
        fail(str(error), EXIT_USAGE)
    if isinstance(error, CrmhubError):
        fail(str(error))
    log.debug("unexpected error", exc_info=error)
    fail(f"unexpected {type(error).__name__}: {error}")


def config_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--config FILE``, the settings file every command that needs settings takes."""
    return click.option(
        "--config", "config_path", type=click.Path(dir_okay=False), default=None,
        help=f"Settings file (TOML). Default: {DEFAULT_CONFIG} in the current folder.",
    )(func)


def load_plugins_reporting() -> "LoadedPlugins":
    """All plugins, with a warning for each one that failed to load."""
    from crmhub.plugins import load_plugins

    loaded = load_plugins()
    for name, error in loaded.errors.items():
        log.warning("plugin %s failed to load: %s (see `crmhub plugins`)", name, error)
    return loaded


def load_plugins_for_listing() -> "LoadedPlugins":
    """All plugins, each broken one reported in its info even under ``CRMHUB_STRICT_PLUGINS``:
    listing what is broken is the point of ``plugins`` and ``--version``."""
    from crmhub.plugins import load_plugins

    return load_plugins({k: v for k, v in os.environ.items() if k != "CRMHUB_STRICT_PLUGINS"})


def load_settings_file(path: str | None, plugins: "LoadedPlugins | None" = None) -> "Settings":
    """Settings from ``path`` (default ``crmhub.toml``), validated with the plugins' schemas."""
    from crmhub.core.dispatcher import settings_schema_lookup
    from crmhub.core.settings import load_settings

    loaded = plugins if plugins is not None else load_plugins_reporting()
    return load_settings(path or DEFAULT_CONFIG, settings_schema_lookup(loaded.hooks))


class Timestamp(click.ParamType):
    """An RFC 3339 timestamp with an offset (``2026-11-25T09:30:05Z``)."""

    name = "TIMESTAMP"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not an RFC 3339 timestamp (e.g. 2026-11-25T09:30:05Z)", param, ctx)
        if parsed.tzinfo is None:
            self.fail(f"{value!r} has no offset (add Z or +HH:MM)", param, ctx)
        return parsed


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell; the last column is left as it is."""
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers) - 1)]
    lines = []
    for row in [headers, *rows]:
        cells = [str(cell).ljust(width) for cell, width in zip(row, widths)] + [str(row[-1])]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
