"""crmhub: contact-center session events in, CRM records out, through plugins.

The host's API is :class:`Dispatcher` (``from_config``, ``handle``, ``session``), the
:class:`Outcome` it returns and the :class:`InvalidEvent` it raises. Names are imported on first
use so that ``crmhub --help`` and plugin discovery stay fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Dispatcher": "crmhub.core.dispatcher",
    "Outcome": "crmhub.core.outcomes",
    "InvalidEvent": "crmhub.core.errors",
    "SettingsError": "crmhub.core.errors",
    "PluginError": "crmhub.core.errors",
    "TransientCrmError": "crmhub.core.errors",
    "PermanentCrmError": "crmhub.core.errors",
    "AuthenticationError": "crmhub.core.errors",
    "UnknownOutcomeError": "crmhub.core.errors",
    "hookimpl": "crmhub.core.hookspecs",
}
__all__ = [*_EXPORTS, "__version__"]

if TYPE_CHECKING:
    from crmhub.core.dispatcher import Dispatcher
    from crmhub.core.errors import (
        AuthenticationError, InvalidEvent, PermanentCrmError, PluginError, SettingsError,
        TransientCrmError, UnknownOutcomeError,
    )
    from crmhub.core.hookspecs import hookimpl
    from crmhub.core.outcomes import Outcome


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'crmhub' has no attribute {name!r}")
