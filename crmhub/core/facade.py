"""The one typed door through which crmhub calls plugin hooks.

Nothing else in crmhub touches ``pm.hook``: the dispatcher, the CLI and the test kit ask this
facade, which narrows CRM hooks to the selected CRM plugin (plus every plugin that is not a CRM)
and turns a missing implementation into a :class:`PluginError` that names the plugin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

from crmhub.core.errors import PluginError
from crmhub.core.models import CheckResult, CrmRecord, NewRecord, RecordQuery, Session, SessionNote

if TYPE_CHECKING:
    import marshmallow

    from crmhub.core.settings import RecordCreationSettings

CRM_HOOKS = (
    "crm_settings_schema",
    "crm_client",
    "find_open_record",
    "create_record",
    "append_session",
    "reopen",
    "find_record_for_session",
    "check_crm",
    "format_tags",
)


class PluginHooks:
    """Hook calls that are not about one CRM, and the way to the CRM-specific ones."""

    def __init__(self, pm: pluggy.PluginManager):
        self.pm = pm

    def crm_providers(self) -> dict[str, list[object]]:
        """CRM key → every plugin object that declares it, in registration order."""
        found: dict[str, list[object]] = {}
        for impl in self.pm.hook.crm_name.get_hookimpls():
            name = impl.function()
            if isinstance(name, str) and name:
                found.setdefault(name, []).append(impl.plugin)
        return found

    def crm_plugins(self) -> dict[str, object]:
        """CRM key → the plugin that provides it (the first registered, where several claim it)."""
        return {name: plugins[0] for name, plugins in self.crm_providers().items()}

    def plugin_name(self, plugin: object) -> str:
        return self.pm.get_name(plugin) or repr(plugin)

    def for_crm(self, crm: str) -> "CrmHooks":
        """The hooks of the CRM ``crm``: :class:`PluginError` if no plugin provides it."""
        providers = self.crm_providers()
        if crm not in providers:
            raise PluginError(
                f"no installed plugin provides the CRM {crm!r} (installed: {', '.join(sorted(providers)) or 'none'})"
            )
        if len(providers[crm]) > 1:
            names = ", ".join(repr(self.plugin_name(p)) for p in providers[crm])
            raise PluginError(
                f"the CRM {crm!r} is provided by several plugins ({names}): disable all but one "
                "with CRMHUB_DISABLE_PLUGINS"
            )
        chosen = providers[crm][0]
        others = [p for plugins in providers.values() for p in plugins if p is not chosen]
        return CrmHooks(self, crm, chosen, others)

    def session_tags(self, session: Session, settings: "RecordCreationSettings") -> list[str]:
        """Raw tag names from every plugin, in plugin order (pluggy calls the newest first)."""
        results = self.pm.hook.session_tags(session=session, settings=settings)
        return [tag for tags in reversed(results) for tag in (tags or ())]


class CrmHooks:
    """The CRM hooks, called on the selected CRM plugin and on non-CRM plugins only."""

    def __init__(self, hooks: PluginHooks, crm: str, plugin: object, other_crms: list[object]):
        self.crm = crm
        self.plugin = plugin
        self.plugin_name = hooks.plugin_name(plugin)
        self._callers = {name: hooks.pm.subset_hook_caller(name, remove_plugins=other_crms) for name in CRM_HOOKS}

    def _call(self, hook: str, **kwargs: Any) -> Any:
        result = self._callers[hook](**kwargs)
        if result is None:
            raise PluginError(f"plugin {self.plugin_name!r} (CRM {self.crm!r}) returned nothing from {hook}")
        return result

    def settings_schema(self) -> "marshmallow.Schema":
        return self._call("crm_settings_schema")

    def client(self, settings: Mapping[str, Any], config_dir: Path) -> Any:
        return self._call("crm_client", settings=settings, config_dir=config_dir)

    def find_open_record(self, client: Any, query: RecordQuery) -> CrmRecord | None:
        return self._callers["find_open_record"](client=client, query=query)

    def create_record(self, client: Any, record: NewRecord) -> CrmRecord:
        return self._call("create_record", client=client, record=record)

    def append_session(self, client: Any, record: CrmRecord, note: SessionNote) -> CrmRecord:
        return self._call("append_session", client=client, record=record, note=note)

    def reopen(self, client: Any, record: CrmRecord, note: SessionNote) -> CrmRecord:
        return self._call("reopen", client=client, record=record, note=note)

    def find_record_for_session(self, client: Any, session_id: str) -> CrmRecord | None:
        return self._callers["find_record_for_session"](client=client, session_id=session_id)

    def check_crm(self, client: Any, settings: Mapping[str, Any]) -> list[CheckResult]:
        return list(self._call("check_crm", client=client, settings=settings))

    def format_tags(self, tags: Sequence[str]) -> list[str]:
        return list(self._call("format_tags", tags=list(tags)))
