"""Every error crmhub raises or expects a plugin to raise.

The CRM errors are the vocabulary shared by the dispatcher and all plugins: a plugin translates
its vendor's HTTP failures into one of them, and the dispatcher acts on the class alone, the same
way for every CRM. Messages must never carry a secret.
"""

from __future__ import annotations


class CrmhubError(Exception):
    """Base class of crmhub's own errors."""


class InvalidEvent(CrmhubError, ValueError):
    """An event was rejected before anything was written.

    ``field`` names the offending key as a dotted path (``session.channel``), so that a host can
    point at it without parsing the message.
    """

    def __init__(self, field: str, message: str):
        self.field = field
        self.problem = message
        super().__init__(f"{field}: {message}")


class SettingsError(CrmhubError):
    """Settings could not be loaded. ``errors`` maps each dotted key to its list of problems."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = dict(sorted(errors.items()))
        lines = [f"{key}: {problem}" for key, problems in self.errors.items() for problem in problems]
        super().__init__("invalid settings:\n" + "\n".join(f"  - {line}" for line in lines))


class PluginError(CrmhubError):
    """A plugin could not be loaded or is not usable (wrong hook signature, missing CRM)."""


class CrmError(CrmhubError):
    """Base class of the errors a CRM plugin raises from an operation hook."""


class TransientCrmError(CrmError):
    """The CRM could not do it now but may later: rate limit, 5xx, connection refused.

    The dispatcher keeps the work and answers ``queued``. ``retry_after`` is the number of seconds
    the CRM asked us to wait (from ``Retry-After`` or a vendor header), or None.
    """

    def __init__(self, message: str, retry_after: float | None = None):
        self.retry_after = retry_after
        super().__init__(message)


class PermanentCrmError(CrmError):
    """The CRM refused the operation for good (validation error, missing object, forbidden).

    Retrying the same request cannot succeed; the event's outcome is ``failed`` and the work is kept
    for inspection.
    """


class AuthenticationError(PermanentCrmError):
    """Credentials were refused even after any refresh the plugin could make.

    A subclass of :class:`PermanentCrmError`: no retry helps until an operator fixes the settings.
    """


class UnknownOutcomeError(TransientCrmError):
    """The request may or may not have taken effect (timeout, dropped connection after sending).

    Before retrying a create, the dispatcher reconciles by looking the record up with the
    ``find_record_for_session`` hook, so that the retry cannot make a duplicate.
    """
