"""The ``[crm.zendesk]`` settings section: marshmallow schema and the typed view the client uses.

Defaults are documented in the plugin README; ``api_token`` is meant to be written as
``"env:ZENDESK_API_TOKEN"`` so that it never sits in the settings file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crmhub import settings_fields
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

DEFAULT_TIMEOUT_SECONDS = 10.0
DEFAULT_MAX_UPDATES_PER_TICKET = 30
DEFAULT_UPDATE_WINDOW_SECONDS = 600.0
DEFAULT_MAX_TICKET_PAGES = 10
DEFAULT_USER_CACHE_SECONDS = 60.0


class ZendeskSettingsSchema(Schema):
    """Validates ``[crm.zendesk]``; every problem is reported with its key."""

    class Meta:
        unknown = RAISE

    subdomain = fields.String(
        load_default=None,
        validate=validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9-]*$", error="expected the account's subdomain (acme)"),
        metadata={
            "description": "The account's subdomain: acme for https://acme.zendesk.com. Required unless base_url is set.",
            "example": "acme",
            "set_in_template": True,
        },
    )
    base_url = settings_fields.base_url("https://SUBDOMAIN.zendesk.com")
    email = fields.Email(
        required=True,
        metadata={
            "description": "The email of the agent the API token belongs to (basic auth EMAIL/token:API_TOKEN).",
            "example": "admin@acme.example",
        },
    )
    api_token = settings_fields.api_secret("A Zendesk API token (Admin Center > Apps and integrations > Zendesk API).")
    timeout_seconds = settings_fields.timeout_seconds(DEFAULT_TIMEOUT_SECONDS)
    default_phone_region = settings_fields.default_phone_region()
    queue_groups = fields.Dict(
        keys=fields.String(), values=fields.Integer(strict=True), load_default=dict,
        metadata={
            "description": "Leaf queue id -> the Zendesk group new tickets of that queue are assigned to (none by default).",
            "example": {"q-42": 360000042},
        },
    )
    session_id_field = fields.Integer(
        strict=True, load_default=None,
        metadata={
            "description": "The id of a ticket custom field that also receives crmhub's session id (none by default).",
            "example": 360000123456,
        },
    )
    leaf_queue_field = fields.Integer(
        strict=True, load_default=None,
        metadata={
            "description": "The id of a ticket custom field that receives the leaf queue id, the mark crmhub finds "
            "its tickets by (default: a crmhub_queue_... tag).",
            "example": 360000123457,
        },
    )
    max_updates_per_ticket = fields.Integer(
        strict=True, load_default=DEFAULT_MAX_UPDATES_PER_TICKET, validate=validate.Range(min=1),
        metadata={"description": "crmhub's own updates allowed per ticket within update_window_seconds (Zendesk's cap)."},
    )
    update_window_seconds = fields.Float(
        load_default=DEFAULT_UPDATE_WINDOW_SECONDS, validate=validate.Range(min=0, min_inclusive=False),
        metadata={"description": "The sliding window of max_updates_per_ticket, in seconds."},
    )
    max_ticket_pages = fields.Integer(
        strict=True, load_default=DEFAULT_MAX_TICKET_PAGES, validate=validate.Range(min=1),
        metadata={"description": "Pages of 100 of the requester's tickets read at most when looking for a ticket."},
    )
    user_cache_seconds = fields.Float(
        load_default=DEFAULT_USER_CACHE_SECONDS, validate=validate.Range(min=0),
        metadata={"description": "How long a requester lookup (found or not) is remembered in this process, in seconds."},
    )

    @validates_schema
    def _an_address(self, data: Mapping[str, Any], **_: Any) -> None:
        if not data.get("subdomain") and not data.get("base_url"):
            raise ValidationError("set subdomain (acme for acme.zendesk.com) or base_url", "subdomain")


@dataclass(frozen=True)
class ZendeskSettings:
    """The loaded section, typed. ``repr`` leaves the token out."""

    email: str
    api_token: str = field(repr=False)
    subdomain: str | None = None
    base_url: str | None = None
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    default_phone_region: str | None = None
    queue_groups: Mapping[str, int] = field(default_factory=dict)
    session_id_field: int | None = None
    leaf_queue_field: int | None = None
    max_updates_per_ticket: int = DEFAULT_MAX_UPDATES_PER_TICKET
    update_window_seconds: float = DEFAULT_UPDATE_WINDOW_SECONDS
    max_ticket_pages: int = DEFAULT_MAX_TICKET_PAGES
    user_cache_seconds: float = DEFAULT_USER_CACHE_SECONDS

    @classmethod
    def from_mapping(cls, loaded: Mapping[str, Any]) -> "ZendeskSettings":
        return cls(**{key: value for key, value in loaded.items() if value is not None})

    @property
    def root_url(self) -> str:
        """``https://SUBDOMAIN.zendesk.com``, or ``base_url`` when set (sandboxes, proxies, test servers)."""
        if self.base_url:
            return self.base_url.rstrip("/")
        return f"https://{self.subdomain}.zendesk.com"
