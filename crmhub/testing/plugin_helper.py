"""Throwaway plugins for one test: seen by ``crmhub.plugins.load_plugins`` as if installed.

A test that needs an extra plugin (a tag contributor, a broken plugin, a fake CRM) registers it
here instead of installing a distribution. It is offered to crmhub's loader as one more entry
point of the ``crmhub`` group, so the code under test (``Dispatcher.from_config``, the CLI) loads it
through the normal path, with its checks and error reporting; on exit it is gone again.
"""

from __future__ import annotations

import itertools
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import EntryPoint
from typing import Any
from unittest import mock

_COUNTER = itertools.count(1)
_HOLDER_PREFIX = "crmhub_testing_throwaway_"


def _default_name(plugin: object) -> str:
    name = getattr(plugin, "__name__", None) or type(plugin).__name__
    return name.rsplit(".", 1)[-1].lower()


@contextmanager
def register_plugin(plugin: object, name: str | None = None) -> Iterator[str]:
    """Make ``plugin`` (a module or any object with hookimpls) load as plugin ``name`` until exit.

    Yields the name it was registered under. Registrations nest: each adds one entry point.
    """
    import crmhub.plugins

    name = name or _default_name(plugin)
    if name in crmhub.plugins.BUILTIN_PLUGINS:
        raise ValueError(f"{name!r} is a built-in plugin's name; choose another")
    holder_name = f"{_HOLDER_PREFIX}{next(_COUNTER)}"
    holder = types.ModuleType(holder_name, f"holds the throwaway plugin {name!r} for one test")
    holder.plugin = plugin  # type: ignore[attr-defined]
    entry_point = EntryPoint(name=name, value=f"{holder_name}:plugin", group=crmhub.plugins.ENTRY_POINT_GROUP)
    real_entry_points = crmhub.plugins.entry_points

    def entry_points(**selection: Any) -> Any:
        found = list(real_entry_points(**selection))
        if selection.get("group") == crmhub.plugins.ENTRY_POINT_GROUP:
            found = [ep for ep in found if ep.name != name] + [entry_point]
        return found

    sys.modules[holder_name] = holder
    try:
        with mock.patch.object(crmhub.plugins, "entry_points", entry_points):
            yield name
    finally:
        del sys.modules[holder_name]
