"""The plugin test kit: recorded HTTP fixtures, strict replay, and the standard connector suite.

A plugin's tests use :func:`replay` to serve recorded vendor exchanges to the plugin's real
``requests`` calls, subclass :class:`ConnectorSuite` to pass the contract every CRM plugin must
meet, and check their fixtures with :func:`scan_for_credentials`. :class:`Recorder` makes new
fixtures from a live CRM with the secrets and tenant names scrubbed out.

Names are imported on first use: this package is also a pytest plugin, loaded by every pytest run
where crmhub is installed, so importing it must cost nothing.
"""

from __future__ import annotations

import sys
import types
from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "ConnectorSuite": "crmhub.testing.suite",
    "FixtureError": "crmhub.testing.fixtures",
    "run_check_crm": "crmhub.testing.checks",
    "load_fixture": "crmhub.testing.fixtures",
    "exchange": "crmhub.testing.fixtures",
    "fixture": "crmhub.testing.fixtures",
    "Replay": "crmhub.testing.replay",
    "replay": "crmhub.testing.replay",
    "Recorder": "crmhub.testing.recorder",
    "scan_for_credentials": "crmhub.testing.credentials",
    "register_plugin": "crmhub.testing.plugin_helper",
    "third_party_fixtures_dir": "crmhub.testing.third_party",
}
__all__ = [*_EXPORTS, "samples"]

if TYPE_CHECKING:
    from crmhub.testing import samples
    from crmhub.testing.checks import run_check_crm
    from crmhub.testing.credentials import scan_for_credentials
    from crmhub.testing.fixtures import FixtureError, exchange, fixture, load_fixture
    from crmhub.testing.plugin_helper import register_plugin
    from crmhub.testing.recorder import Recorder
    from crmhub.testing.replay import Replay, replay
    from crmhub.testing.suite import ConnectorSuite
    from crmhub.testing.third_party import third_party_fixtures_dir


class _KitPackage(types.ModuleType):
    """Keeps exported names bound to what they export.

    ``replay`` is both a submodule and the function it defines: importing the submodule (as
    ``from crmhub.testing.replay import Replay`` does) makes Python set the package attribute to
    the module, after which ``from crmhub.testing import replay`` would hand out a module. The
    package keeps the function instead.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _EXPORTS.get(name) == value.__name__:
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _KitPackage


def __getattr__(name: str) -> Any:
    if name == "samples":
        return import_module("crmhub.testing.samples")
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'crmhub.testing' has no attribute {name!r}")
