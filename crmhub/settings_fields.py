"""Settings fields that every HTTP CRM plugin declares, defined once so that they mean the same everywhere.

A plugin's ``[crm.NAME]`` schema uses them as ordinary marshmallow fields::

    from crmhub import settings_fields

    class AcmeSettingsSchema(Schema):
        api_token = settings_fields.api_secret("The Acme API token crmhub signs in with.")
        base_url = settings_fields.base_url("the Acme API address")
        timeout_seconds = settings_fields.timeout_seconds()
        default_phone_region = settings_fields.default_phone_region()

An integrator who has set these keys for one CRM can move them to another unchanged: same names,
same defaults, same validation, same wording in ``crmhub config init``.
"""

from __future__ import annotations

from typing import Any

import phonenumbers
from marshmallow import fields, validate

DEFAULT_TIMEOUT_SECONDS = 10.0
"""The HTTP timeout of each request unless a plugin's settings say otherwise."""


def base_url(replaces: str, **options: Any) -> fields.Url:
    """``base_url``: an http(s) URL that ``replaces`` the vendor's address (sandboxes, proxies,
    local test servers); None when not set. ``options`` go to the field (``load_default``...)."""
    options.setdefault("load_default", None)
    return fields.Url(
        require_tld=False, schemes={"http", "https"}, allow_none=True,
        metadata={
            "description": f"Replaces {replaces} (sandboxes, proxies, local test servers).",
            "example": "http://127.0.0.1:8080",
        },
        **options,
    )


def api_secret(description: str) -> fields.String:
    """A required credential (API token, API key): ``crmhub config init`` writes it as
    ``"env:CRMHUB_<CRM>_<KEY>"``, never as a literal, because the field is marked secret."""
    return fields.String(
        required=True, validate=validate.Length(min=1), metadata={"description": description, "secret": True}
    )


def timeout_seconds(default: float = DEFAULT_TIMEOUT_SECONDS) -> fields.Float:
    """``timeout_seconds``: the connect and read timeout of each request, a positive number."""
    return fields.Float(
        load_default=default, validate=validate.Range(min=0, min_inclusive=False),
        metadata={"description": "The connect and read timeout of each request, in seconds."},
    )


class PhoneRegion(fields.String):
    """A region code phonenumbers knows (``US``, ``gb``: read in upper case), or None."""

    default_error_messages = {"region": "expected a two-letter region code such as US or GB"}

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        region = super()._deserialize(value, attr, data, **kwargs).upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise self.make_error("region")
        return region


def default_phone_region(description: str | None = None) -> PhoneRegion:
    """``default_phone_region``: how end-user numbers written without a country code are read
    (SPEC section 6: numbers are matched in E.164); None reads only international numbers.
    ``description`` replaces the standard one where a plugin reads numbers more ways."""
    return PhoneRegion(
        load_default=None, allow_none=True,
        metadata={
            "description": description
            or "The region of end-user phone numbers written without a country code (none by default).",
            "example": "US",
        },
    )
