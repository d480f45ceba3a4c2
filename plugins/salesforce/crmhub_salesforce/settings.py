"""The ``[crm.salesforce]`` settings section: its schema, defaults and cross-key checks.

Every field name ends up inside SOQL text or a REST path, so each one is checked to be a plain
Salesforce API name (letters, digits, underscores): settings can never inject SOQL. Field names the
integrator leaves out come from the record object's preset (:mod:`crmhub_salesforce.objects`).
"""

from __future__ import annotations

import copy
from typing import Any

import phonenumbers
from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates_schema

from crmhub_salesforce import objects

CLIENT_CREDENTIALS = "client_credentials"
JWT_BEARER = "jwt_bearer"
AUTH_FLOWS = (CLIENT_CREDENTIALS, JWT_BEARER)
DEFAULT_LOGIN_URL = "https://login.salesforce.com"
DEFAULT_API_VERSION = "v60.0"
DEFAULT_TIMEOUT_SECONDS = 10.0
DEFAULT_PERSON_CACHE_SECONDS = 300
DEFAULT_LEAF_QUEUE_FIELD = "Crmhub_Leaf_Queue__c"
DEFAULT_SESSION_ID_FIELD = "Crmhub_Session_Id__c"

_API_NAME = validate.Regexp(
    r"^[A-Za-z][A-Za-z0-9_]*$", error="expected a Salesforce API name (letters, digits and underscores)"
)


def _api_name(**kwargs: Any) -> fields.String:
    return fields.String(validate=_API_NAME, **kwargs)


def _optional_api_name() -> fields.String:
    """An API name; ``""`` switches the field off, leaving it out keeps the preset's value."""
    return fields.String(
        load_default=None, allow_none=True,
        validate=validate.Regexp(r"^([A-Za-z][A-Za-z0-9_]*)?$", error="expected a Salesforce API name, or \"\" for none"),
    )


def _url(**kwargs: Any) -> fields.Url:
    return fields.Url(require_tld=False, schemes={"http", "https"}, **kwargs)


def _boolean(default: bool) -> fields.Boolean:
    return fields.Boolean(load_default=default, truthy={True}, falsy={False})


class SecondaryLookupSchema(Schema):
    """A second object to match end users against when no Contact matches (a Person Account, a
    Lead...). A match there is linked through ``record_field`` on the record; nothing is created."""

    class Meta:
        unknown = RAISE

    object = _api_name(required=True)
    record_field = _api_name(required=True)
    phone_fields = fields.List(_api_name(), load_default=list)
    email_fields = fields.List(_api_name(), load_default=list)
    external_id_field = _api_name(load_default=None, allow_none=True)

    @validates_schema
    def _something_to_match(self, data: dict[str, Any], **_: Any) -> None:
        if not (data.get("phone_fields") or data.get("email_fields") or data.get("external_id_field")):
            raise ValidationError("name at least one of phone_fields, email_fields, external_id_field")


class SalesforceSettingsSchema(Schema):
    """``[crm.salesforce]``. Secrets (``client_secret``, ``private_key``) belong in ``env:NAME``."""

    class Meta:
        unknown = RAISE

    # --- connection and OAuth ----------------------------------------------------------------------
    auth_flow = fields.String(load_default=CLIENT_CREDENTIALS, validate=validate.OneOf(AUTH_FLOWS))
    client_id = fields.String(required=True, validate=validate.Length(min=1))
    client_secret = fields.String(load_default=None, allow_none=True)
    username = fields.String(load_default=None, allow_none=True)
    private_key = fields.String(load_default=None, allow_none=True)
    private_key_file = fields.String(load_default=None, allow_none=True)
    jwt_audience = fields.String(load_default=DEFAULT_LOGIN_URL)
    login_url = _url(load_default=DEFAULT_LOGIN_URL)
    instance_url = _url(load_default=None, allow_none=True)
    base_url = _url(load_default=None, allow_none=True)
    api_version = fields.String(
        load_default=DEFAULT_API_VERSION, validate=validate.Regexp(r"^v\d+\.\d$", error="expected a version like v60.0")
    )
    timeout_seconds = fields.Float(load_default=DEFAULT_TIMEOUT_SECONDS, validate=validate.Range(min=0, min_inclusive=False))

    # --- who the end user is -----------------------------------------------------------------------
    default_phone_region = fields.String(load_default=None, allow_none=True)
    person_object = _api_name(load_default="Contact")
    person_phone_fields = fields.List(_api_name(), load_default=lambda: ["Phone", "MobilePhone"])
    person_email_fields = fields.List(_api_name(), load_default=lambda: ["Email"])
    person_external_id_field = _api_name(load_default=None, allow_none=True)
    secondary_lookup = fields.Nested(SecondaryLookupSchema, load_default=None, allow_none=True)
    create_contacts = _boolean(True)
    person_cache_seconds = fields.Integer(
        load_default=DEFAULT_PERSON_CACHE_SECONDS, strict=True, validate=validate.Range(min=0)
    )

    # --- the record ----------------------------------------------------------------------------------
    record_object = _api_name(load_default=objects.CASE)
    subject_field = _api_name(load_default=None, allow_none=True)
    subject_max_length = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1))
    description_field = _api_name(load_default=None, allow_none=True)
    status_field = _api_name(load_default=None, allow_none=True)
    closed_field = _api_name(load_default=None, allow_none=True)
    closed_at_field = _api_name(load_default=None, allow_none=True)
    closed_at_type = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(("datetime", "date")))
    contact_field = _api_name(load_default=None, allow_none=True)
    origin_field = _optional_api_name()
    owner_field = _optional_api_name()
    event_date_fields = fields.List(_api_name(), load_default=None, allow_none=True)
    origin_values = fields.Dict(
        keys=fields.String(validate=validate.OneOf(("call", "chat"))), values=fields.String(),
        load_default=lambda: {"call": "Phone", "chat": "Chat"},
    )
    queue_owners = fields.Dict(keys=fields.String(), values=fields.String(validate=validate.Length(min=1)), load_default=dict)
    leaf_queue_field = _api_name(load_default=DEFAULT_LEAF_QUEUE_FIELD)
    session_id_field = _api_name(load_default=DEFAULT_SESSION_ID_FIELD)
    upsert_field = _api_name(load_default=None, allow_none=True)
    tags_field = _api_name(load_default=None, allow_none=True)
    tags_separator = fields.String(load_default=";", validate=validate.Length(min=1))
    open_status = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1))

    # --- notes for appended sessions ------------------------------------------------------------------
    note_object = _api_name(load_default=None, allow_none=True)
    note_parent_field = _api_name(load_default=None, allow_none=True)
    note_body_field = _api_name(load_default=None, allow_none=True)
    note_title_field = _optional_api_name()
    note_max_bytes = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(min=100))
    note_fields = fields.Dict(keys=fields.String(validate=_API_NAME), load_default=None, allow_none=True)

    @validates_schema(skip_on_field_errors=False)
    def _auth(self, data: dict[str, Any], **_: Any) -> None:
        problems: dict[str, list[str]] = {}
        if data.get("auth_flow") == CLIENT_CREDENTIALS and not data.get("client_secret"):
            problems["client_secret"] = ["required by auth_flow = \"client_credentials\" (use env:NAME)"]
        if data.get("auth_flow") == JWT_BEARER:
            if not data.get("username"):
                problems["username"] = ["required by auth_flow = \"jwt_bearer\""]
            if bool(data.get("private_key")) == bool(data.get("private_key_file")):
                problems["private_key"] = [
                    "auth_flow = \"jwt_bearer\" needs exactly one of private_key (env:NAME) or private_key_file"
                ]
        if problems:
            raise ValidationError(problems)

    @validates_schema(skip_on_field_errors=False)
    def _region(self, data: dict[str, Any], **_: Any) -> None:
        region = data.get("default_phone_region")
        if region is not None and region.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ValidationError({"default_phone_region": [f"unknown region {region!r} (a code such as 'US')"]})

    @validates_schema(skip_on_field_errors=False)
    def _record_object(self, data: dict[str, Any], **_: Any) -> None:
        record_object = data.get("record_object", objects.CASE)
        problems: dict[str, list[str]] = {}
        if objects.preset_for(record_object) is None:
            for key in objects.REQUIRED_WITHOUT_PRESET:
                if not data.get(key):
                    problems[key] = [f"required for record_object {record_object!r} (presets exist for Case and Opportunity)"]
        if not objects.has_default_status(record_object) and not data.get("open_status"):
            problems["open_status"] = [f"required for record_object {record_object!r}: only Case has a default status"]
        if problems:
            raise ValidationError(problems)

    @post_load
    def _fill_from_preset(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        """Field names left out come from the object's preset; ``""`` means "no such field"."""
        defaults = objects.preset_for(data["record_object"]) or objects.GENERIC_DEFAULTS
        for key in objects.RECORD_PRESET_KEYS:
            if data.get(key) is None:
                data[key] = copy.deepcopy(defaults.get(key))
            elif data[key] == "":
                data[key] = None
        if data.get("default_phone_region"):
            data["default_phone_region"] = data["default_phone_region"].upper()
        return data
