"""``crmhub title preview``: the title and tags a record would get, before any event is sent.

An integrator tuning ``title``, ``timezone``, ``timestamp_format`` or the tag settings sees the
result for a sample session, or for the session of an event of their own, rendered exactly as
the dispatcher renders it: the same title template code, the same session-type catalogue (with
the settings' additions) and the selected CRM plugin's ``format_tags``. Neither the CRM nor the
store is touched.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from crmhub.cli.common import DEFAULT_CONFIG, config_option, fail, load_plugins_reporting, load_settings_file

if TYPE_CHECKING:
    from crmhub.core.models import Session


@click.group()
def title() -> None:
    """Preview record titles and tags."""


@title.command("preview", short_help="Show the title and tags a record would get.")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@config_option
@click.option(
    "--event", "event_path", type=click.Path(exists=True, dir_okay=False, allow_dash=True), default=None,
    help="A JSON file holding one event (- for stdin); its session is previewed instead of the sample.",
)
def preview(file: str | None, config_path: str | None, event_path: str | None) -> None:
    """Render the record title and tags with the settings FILE (or --config FILE; default crmhub.toml).

    Without --event, the sample session is the call of the README's example event (call-1001,
    Voice Inbound (IVR), started 2026-11-25T09:29:40Z). With --event, the session is what that one
    event carries; a rejected event exits 1 naming its field. Tags are in the configured CRM's
    form. The CRM is not contacted and nothing is written.
    """
    from crmhub.core.describe import record_tags, render_title
    from crmhub.core.session_types import SessionTypeCatalogue

    if file and config_path and file != config_path:
        raise click.UsageError("give the settings file once: as FILE or with --config")
    plugins = load_plugins_reporting()
    settings = load_settings_file(file or config_path or DEFAULT_CONFIG, plugins)
    session, first_event_at, source = _event_session(event_path) if event_path else _sample_session()
    catalogue = SessionTypeCatalogue(settings.session_types)
    rules = settings.record_creation
    tags = record_tags(plugins.hooks, plugins.hooks.for_crm(settings.crm), catalogue, session, rules)
    rendered = render_title(session, rules, catalogue, first_event_at)
    click.echo(f"crm: {settings.crm}")
    click.echo(f"session: {session.id} ({source})")
    click.echo(f"title template: {rules.title}")
    click.echo(f"title: {rendered or '(empty)'}")
    click.echo(f"tags: {', '.join(tags) if tags else 'none'}")


def _sample_session() -> tuple["Session", datetime | None, str]:
    from crmhub.cli.explain import EXAMPLE_SESSION

    return EXAMPLE_SESSION, None, "the sample session"


def _event_session(path: str) -> tuple["Session", datetime | None, str]:
    """The session one event describes, and the event's time (the title's fallback TIMESTAMP)."""
    from crmhub.core.errors import InvalidEvent
    from crmhub.core.events import parse_event, session_from_fields

    name = "stdin" if path == "-" else path
    with click.open_file(path, encoding="utf-8") as stream:
        text = stream.read()
    try:
        raw: Any = json.loads(text)
    except json.JSONDecodeError as error:
        fail(f"{name}: not a JSON event: {error}")
    try:
        event = parse_event(raw)
    except InvalidEvent as error:
        fail(f"{name}: event rejected: {error}")
    return session_from_fields(event.session_fields), event.at, f"event {event.id} of {name}"


