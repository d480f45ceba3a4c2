"""The ``[crm.kustomer]`` settings section: its marshmallow schema and the typed settings the client uses.

Example::

    [crm.kustomer]
    org_name = "acme"                       # https://acme.api.kustomerapp.com
    api_key = "env:KUSTOMER_API_KEY"
    anonymous_customer_id = "5f3c9a0b1d2e3f4a5b6c7d8e"
    # base_url = "http://127.0.0.1:8080"    # replaces the org's API host
    # timeout_seconds = 10
    # default_phone_region = "US"
    # leaf_queue_attribute = "crmhubLeafQueueStr"
    # max_conversation_pages = 5

    [crm.kustomer.queues."q-42"]            # optional: route conversations of a leaf queue
    queue = "5e1a2b3c4d5e6f7a8b9c0d1e"      # a Kustomer routing queue id
    team = "5e1a2b3c4d5e6f7a8b9c0d1f"       # a Kustomer team id
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crmhub import settings_fields
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates, validates_schema

DEFAULT_TIMEOUT_SECONDS = 10.0
DEFAULT_LEAF_QUEUE_ATTRIBUTE = "crmhubLeafQueueStr"
DEFAULT_MAX_CONVERSATION_PAGES = 5
ORG_HOST = "https://{org}.api.kustomerapp.com"

_ORG_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
# Kustomer infers a custom attribute's type from its name's suffix; the mark is a string.
_STRING_ATTRIBUTE = re.compile(r"^[a-z][A-Za-z0-9]*Str$")


class QueueTargetSchema(Schema):
    """Where conversations of one leaf queue are routed in Kustomer."""

    class Meta:
        unknown = RAISE

    queue = fields.String(load_default=None, validate=validate.Length(min=1))
    team = fields.String(load_default=None, validate=validate.Length(min=1))

    @validates_schema
    def _one_target(self, data: Mapping[str, Any], **_: Any) -> None:
        if not data.get("queue") and not data.get("team"):
            raise ValidationError("give a Kustomer queue id (queue), a team id (team), or both")


class KustomerSettingsSchema(Schema):
    """Validates ``[crm.kustomer]``; every problem is reported under its key."""

    class Meta:
        unknown = RAISE

    org_name = fields.String(
        load_default=None,
        metadata={
            "description": "The org's subdomain: acme for acme.kustomerapp.com (API host "
            "https://acme.api.kustomerapp.com). Required unless base_url is set.",
            "example": "acme",
            "set_in_template": True,
        },
    )
    base_url = settings_fields.base_url("the API host")
    api_key = settings_fields.api_secret("A Kustomer API key (Settings > Security > API Keys), sent as a Bearer token.")
    anonymous_customer_id = fields.String(
        required=True, validate=validate.Length(min=1),
        metadata={
            "description": "The id of the Kustomer customer anonymous sessions are filed under.",
            "example": "5f3c9a0b1d2e3f4a5b6c7d8e",
        },
    )
    timeout_seconds = settings_fields.timeout_seconds(DEFAULT_TIMEOUT_SECONDS)
    default_phone_region = settings_fields.default_phone_region()
    leaf_queue_attribute = fields.String(
        load_default=DEFAULT_LEAF_QUEUE_ATTRIBUTE,
        validate=validate.Regexp(_STRING_ATTRIBUTE, error="must be a conversation custom attribute name ending in 'Str'"),
        metadata={
            "description": "The conversation custom attribute (...Str) that holds the leaf-queue mark; "
            "create it on the Conversation klass.",
        },
    )
    max_conversation_pages = fields.Integer(
        load_default=DEFAULT_MAX_CONVERSATION_PAGES, validate=validate.Range(min=1, max=100),
        metadata={"description": "Pages of 100 of a customer's conversations searched for a record to join."},
    )
    queues = fields.Dict(
        keys=fields.String(), values=fields.Nested(QueueTargetSchema), load_default=dict,
        metadata={
            "description": "Leaf queue id -> the Kustomer routing queue and/or team of its new conversations "
            "(none by default).",
            "example": {"q-42": {"queue": "5e1a2b3c4d5e6f7a8b9c0d1e", "team": "5e1a2b3c4d5e6f7a8b9c0d1f"}},
        },
    )

    @validates("org_name")
    def _org_name(self, value: str | None, **_: Any) -> None:
        if value is not None and not _ORG_NAME.match(value):
            raise ValidationError("must be the Kustomer org name, the subdomain of acme.kustomerapp.com (acme)")

    @validates_schema(skip_on_field_errors=False)
    def _host(self, data: Mapping[str, Any], **_: Any) -> None:
        if not data.get("org_name") and not data.get("base_url"):
            raise ValidationError("give org_name (or base_url to replace the API host)", "org_name")


@dataclass(frozen=True)
class QueueTarget:
    queue: str | None = None
    team: str | None = None


@dataclass(frozen=True)
class KustomerSettings:
    """The loaded section, typed. ``repr`` leaves the API key out."""

    api_key: str = field(repr=False)
    base_url: str
    anonymous_customer_id: str
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    default_phone_region: str | None = None
    leaf_queue_attribute: str = DEFAULT_LEAF_QUEUE_ATTRIBUTE
    max_conversation_pages: int = DEFAULT_MAX_CONVERSATION_PAGES
    queues: Mapping[str, QueueTarget] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, section: Mapping[str, Any]) -> "KustomerSettings":
        """Build from what :class:`KustomerSettingsSchema` loaded."""
        base_url = section.get("base_url") or ORG_HOST.format(org=section["org_name"])
        region = section.get("default_phone_region")
        return cls(
            api_key=section["api_key"],
            base_url=base_url.rstrip("/"),
            anonymous_customer_id=section["anonymous_customer_id"],
            timeout_seconds=section.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS),
            default_phone_region=region.upper() if region else None,
            leaf_queue_attribute=section.get("leaf_queue_attribute", DEFAULT_LEAF_QUEUE_ATTRIBUTE),
            max_conversation_pages=section.get("max_conversation_pages", DEFAULT_MAX_CONVERSATION_PAGES),
            queues={
                leaf: QueueTarget(queue=target.get("queue"), team=target.get("team"))
                for leaf, target in (section.get("queues") or {}).items()
            },
        )
