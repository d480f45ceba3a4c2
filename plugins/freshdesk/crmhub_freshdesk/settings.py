"""The ``[crm.freshdesk]`` settings section: its marshmallow schema and the typed view the client uses.

Example::

    [crm.freshdesk]
    domain = "acme"                       # https://acme.freshdesk.com
    api_key = "env:FRESHDESK_API_KEY"
    anonymous_requester_email = "anonymous@acme.example"
    groups = { "q-42" = 43000012345 }     # leaf queue id -> Freshdesk group_id

Every key, its default and its meaning is listed in the plugin's README.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crmhub import settings_fields
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

DEFAULT_TIMEOUT_SECONDS = 10.0
DEFAULT_PRIORITY = 1
DEFAULT_LOOKBACK_DAYS = 365
DEFAULT_MAX_PAGES = 5
MAX_LIST_PAGE = 300
"""Freshdesk refuses ``page`` above 300 on ticket lists."""

_DOMAIN = validate.Regexp(
    r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*$",
    error="expected the Freshdesk subdomain (acme) or host name (acme.freshdesk.com)",
)
_CUSTOM_FIELD = validate.Regexp(
    r"^cf_[A-Za-z0-9_]+$", error="expected the API name of a custom ticket field (cf_...)"
)


def _boolean(default: bool, description: str) -> fields.Boolean:
    """A TOML boolean: ``true``/``false`` only."""
    return fields.Boolean(load_default=default, truthy={True}, falsy={False}, metadata={"description": description})


class FreshdeskSettingsSchema(Schema):
    """Validates ``[crm.freshdesk]``; ``load`` returns a plain dict of the keys below."""

    class Meta:
        unknown = RAISE

    domain = fields.String(
        load_default=None, validate=_DOMAIN,
        metadata={
            "description": "The helpdesk: acme (https://acme.freshdesk.com) or a host name (acme.freshdesk.com). "
            "Required unless base_url is set.",
            "example": "acme",
            "set_in_template": True,
        },
    )
    base_url = settings_fields.base_url("the URL requests go to; ticket links still use domain")
    api_key = settings_fields.api_secret("An agent's Freshdesk API key (Profile settings > Your API Key).")
    timeout_seconds = settings_fields.timeout_seconds(DEFAULT_TIMEOUT_SECONDS)
    default_phone_region = settings_fields.default_phone_region()
    anonymous_requester_email = fields.Email(
        load_default=None,
        metadata={
            "description": "The requester of anonymous sessions' tickets (Freshdesk needs one); "
            "without it, their events fail.",
            "example": "anonymous@acme.example",
            "set_in_template": True,
        },
    )
    groups = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1)),
        values=fields.Integer(strict=True, validate=validate.Range(min=1)),
        load_default=dict,
        metadata={
            "description": "Leaf queue id -> the Freshdesk group_id new tickets of that queue are assigned to "
            "(none by default).",
            "example": {"q-42": 43000012345},
        },
    )
    priority = fields.Integer(
        load_default=DEFAULT_PRIORITY, strict=True, validate=validate.Range(min=1, max=4),
        metadata={"description": "The priority of new tickets: 1 low, 2 medium, 3 high, 4 urgent."},
    )
    queue_field = fields.String(
        load_default=None, validate=_CUSTOM_FIELD,
        metadata={
            "description": "A custom text ticket field (cf_...) for the leaf-queue mark (default: a crmhub-queue-... tag).",
            "example": "cf_crmhub_queue",
        },
    )
    session_field = fields.String(
        load_default=None, validate=_CUSTOM_FIELD,
        metadata={
            "description": "A custom text ticket field (cf_...) for the session mark (default: a crmhub-session-... tag).",
            "example": "cf_crmhub_session",
        },
    )
    use_unique_external_id = _boolean(
        True,
        "Match and create contacts by end_user.id in unique_external_id; false on accounts without that feature.",
    )
    lookback_days = fields.Integer(
        load_default=DEFAULT_LOOKBACK_DAYS, strict=True, validate=validate.Range(min=1),
        metadata={"description": "How many days back the end user's tickets are listed; older tickets are not candidates."},
    )
    max_pages = fields.Integer(
        load_default=DEFAULT_MAX_PAGES, strict=True, validate=validate.Range(min=1, max=MAX_LIST_PAGE),
        metadata={"description": "At most this many pages of 100 tickets are read per end user, the newest first."},
    )

    @validates_schema
    def _where(self, data: Mapping[str, Any], **_: Any) -> None:
        if not data.get("domain") and not data.get("base_url"):
            raise ValidationError("set domain (acme for https://acme.freshdesk.com) or base_url", "domain")


@dataclass(frozen=True)
class FreshdeskSettings:
    """The loaded section, typed. ``repr`` leaves the API key out."""

    api_key: str = field(repr=False)
    base_url: str
    portal_url: str
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    default_phone_region: str | None = None
    anonymous_requester_email: str | None = None
    groups: Mapping[str, int] = field(default_factory=dict)
    priority: int = DEFAULT_PRIORITY
    queue_field: str | None = None
    session_field: str | None = None
    use_unique_external_id: bool = True
    lookback_days: int = DEFAULT_LOOKBACK_DAYS
    max_pages: int = DEFAULT_MAX_PAGES

    @classmethod
    def from_loaded(cls, loaded: Mapping[str, Any]) -> "FreshdeskSettings":
        """Build from :class:`FreshdeskSettingsSchema` output: ``base_url`` wins over ``domain``."""
        domain = loaded.get("domain")
        vendor_url = f"https://{domain if '.' in domain else domain + '.freshdesk.com'}" if domain else None
        base_url = (loaded.get("base_url") or vendor_url or "").rstrip("/")
        region = loaded.get("default_phone_region")
        return cls(
            api_key=loaded["api_key"],
            base_url=base_url,
            portal_url=vendor_url or base_url,
            timeout_seconds=float(loaded.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS)),
            default_phone_region=region.upper() if region else None,
            anonymous_requester_email=loaded.get("anonymous_requester_email"),
            groups=dict(loaded.get("groups") or {}),
            priority=loaded.get("priority", DEFAULT_PRIORITY),
            queue_field=loaded.get("queue_field"),
            session_field=loaded.get("session_field"),
            use_unique_external_id=loaded.get("use_unique_external_id", True),
            lookback_days=loaded.get("lookback_days", DEFAULT_LOOKBACK_DAYS),
            max_pages=loaded.get("max_pages", DEFAULT_MAX_PAGES),
        )
