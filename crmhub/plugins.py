"""Finding and loading plugins: entry points in the group ``crmhub``, each loaded on its own.

Environment switches (read when the manager is built):

``CRMHUB_LOAD_PLUGINS``
    comma-separated allow-list of plugin names; only these (and no built-ins unless named) load.
``CRMHUB_DISABLE_PLUGINS``
    comma-separated block-list.
``CRMHUB_STRICT_PLUGINS=1``
    raise :class:`PluginError` on the first broken plugin instead of reporting and going on.
``CRMHUB_TRACE_PLUGINS=1``
    log every hook call, its arguments (secrets redacted) and its result, at INFO level on the
    ``crmhub.plugins.trace`` logger.

A plugin that fails to import, implements a hook that does not exist, or implements one with
arguments the spec does not have is left out and reported by name with its error; the others
load.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points, version
from typing import Any

import pluggy

from crmhub.core import hookspecs
from crmhub.core.errors import PluginError
from crmhub.core.facade import PluginHooks

ENTRY_POINT_GROUP = "crmhub"
BUILTIN_PLUGINS = {"builtin": "crmhub.builtin", "local": "crmhub.local_crm"}
trace_log = logging.getLogger("crmhub.plugins.trace")
_SECRET_KEY = re.compile(r"token|secret|password|passwd|api_?key|authorization|private_key|credential", re.I)


@dataclass
class PluginInfo:
    """What ``crmhub plugins`` shows of one plugin."""

    name: str
    version: str | None
    hooks: list[str] = field(default_factory=list)
    crm: str | None = None
    error: str | None = None
    builtin: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "hooks": self.hooks,
            "crm": self.crm,
            "error": self.error,
            "builtin": self.builtin,
        }


@dataclass
class LoadedPlugins:
    """The plugin manager with everything that loaded, and a report of everything that did not."""

    pm: pluggy.PluginManager
    infos: list[PluginInfo]

    @property
    def hooks(self) -> PluginHooks:
        return PluginHooks(self.pm)

    @property
    def errors(self) -> dict[str, str]:
        return {info.name: info.error for info in self.infos if info.error}


def _names(value: str | None) -> set[str] | None:
    if value is None:
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


def redact(value: Any) -> Any:
    """A copy of a mapping (nested) with the values of secret-looking keys replaced."""
    if isinstance(value, Mapping):
        return {k: "***" if _SECRET_KEY.search(str(k)) else redact(v) for k, v in value.items()}
    return value


def _trace(pm: pluggy.PluginManager) -> None:
    def before(hook_name: str, hook_impls: list[Any], kwargs: Mapping[str, Any]) -> None:
        shown = {k: redact(v) if isinstance(v, Mapping) else v for k, v in kwargs.items() if k != "client"}
        trace_log.info("call %s(%s) on %s", hook_name, shown, [impl.plugin_name for impl in hook_impls])

    def after(outcome: Any, hook_name: str, hook_impls: list[Any], kwargs: Mapping[str, Any]) -> None:
        exception = outcome.exception
        if exception is not None:
            trace_log.info("%s raised %s: %s", hook_name, type(exception).__name__, exception)
        elif hook_name == "crm_client":  # a client holds credentials: show only what it is
            trace_log.info("%s returned a %s", hook_name, type(outcome.get_result()).__name__)
        else:
            trace_log.info("%s returned %r", hook_name, redact(outcome.get_result()))

    pm.add_hookcall_monitoring(before, after)


def _register(pm: pluggy.PluginManager, plugin: object, name: str) -> list[str]:
    """Register one plugin; unregister it again and raise if any of its hooks is unknown."""
    try:
        pm.register(plugin, name=name)
    except Exception:
        if pm.is_registered(plugin):  # pluggy may have added some hooks before refusing one
            pm.unregister(plugin)
        raise
    unknown = [caller.name for caller in pm.get_hookcallers(plugin) or [] if not caller.has_spec()]
    if unknown:
        pm.unregister(plugin)
        raise PluginError(f"implements unknown hook(s): {', '.join(sorted(unknown))}")
    return sorted(caller.name for caller in pm.get_hookcallers(plugin) or [])


def _crm_of(plugin: object) -> str | None:
    declare = getattr(plugin, "crm_name", None)
    if callable(declare) and hasattr(declare, hookspecs.PROJECT_NAME + "_impl"):
        return declare()
    return None


def _distribution_version(entry_point: EntryPoint) -> str | None:
    dist = getattr(entry_point, "dist", None)
    return dist.version if dist is not None else None


def load_plugins(environ: Mapping[str, str] | None = None) -> LoadedPlugins:
    """Build the plugin manager: hook specs, built-in plugins, then installed entry points."""
    environ = os.environ if environ is None else environ
    allow = _names(environ.get("CRMHUB_LOAD_PLUGINS"))
    block = _names(environ.get("CRMHUB_DISABLE_PLUGINS")) or set()
    strict = environ.get("CRMHUB_STRICT_PLUGINS", "") not in ("", "0")
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    infos: list[PluginInfo] = []
    crmhub_version = version("crmhub")

    def wanted(name: str) -> bool:
        return (allow is None or name in allow) and name not in block

    def attempt(name: str, load: Any, plugin_version: str | None, builtin: bool) -> None:
        info = PluginInfo(name=name, version=plugin_version, builtin=builtin)
        infos.append(info)
        try:
            plugin = load()
            info.hooks = _register(pm, plugin, name)
            info.crm = _crm_of(plugin)
        except Exception as error:  # a broken plugin must not take the host down
            info.error = f"{type(error).__name__}: {error}"
            if strict:
                raise PluginError(f"plugin {name!r} failed to load: {info.error}") from error

    for name, module in BUILTIN_PLUGINS.items():
        if wanted(name):
            attempt(name, lambda module=module: importlib.import_module(module), crmhub_version, True)
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        if wanted(entry_point.name) and entry_point.name not in BUILTIN_PLUGINS:
            attempt(entry_point.name, entry_point.load, _distribution_version(entry_point), False)
    if environ.get("CRMHUB_TRACE_PLUGINS", "") not in ("", "0"):
        _trace(pm)
    return LoadedPlugins(pm=pm, infos=infos)
