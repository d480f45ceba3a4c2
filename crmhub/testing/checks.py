"""Running ``check_crm`` (``crmhub check``) of an installed plugin over a recorded fixture."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from crmhub.core.models import CheckResult
from crmhub.testing.replay import replay


def run_check_crm(
    crm: str, settings: Mapping[str, Any], fixture: Path | str | Mapping[str, Any], secrets: Iterable[str] = ()
) -> list[CheckResult]:
    """The results of the ``crm`` plugin's ``check_crm`` over ``fixture`` (strict replay), with
    ``settings`` (the raw ``[crm.KEY]`` section) loaded by the plugin's schema, as ``crmhub check``
    does; fails if a result's detail shows any of ``secrets``."""
    from crmhub.plugins import load_plugins

    hooks = load_plugins({"CRMHUB_LOAD_PLUGINS": crm}).hooks.for_crm(crm)
    section = hooks.settings_schema().load(dict(settings))
    with replay(fixture):
        results = hooks.check_crm(hooks.client(section, Path(".")), section)
    shown = [(result.name, secret) for result in results for secret in secrets if secret in result.detail]
    assert not shown, f"check results show a secret: {shown}"
    return results
