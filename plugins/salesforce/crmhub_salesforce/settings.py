"""The ``[crm.salesforce]`` settings section: its schema, defaults and cross-key checks.

Every field name ends up inside SOQL text or a REST path, so each one is checked to be a plain
Salesforce API name (letters, digits, underscores): settings can never inject SOQL. Field names the
integrator leaves out come from the record object's preset (:mod:`crmhub_salesforce.objects`).
"""

from __future__ import annotations

import copy
from typing import Any

from crmhub import settings_fields
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


def _unset_api_name(description: str, **more: Any) -> fields.String:
    """An API name that may be left out (None: the preset's value, or none, as ``description`` says)."""
    return _api_name(load_default=None, allow_none=True, metadata=_about(description, **more))


def _optional_api_name(**kwargs: Any) -> fields.String:
    """An API name; ``""`` switches the field off, leaving it out keeps the preset's value."""
    return fields.String(
        load_default=None, allow_none=True,
        validate=validate.Regexp(r"^([A-Za-z][A-Za-z0-9_]*)?$", error="expected a Salesforce API name, or \"\" for none"),
        **kwargs,
    )


def _url(**kwargs: Any) -> fields.Url:
    return fields.Url(require_tld=False, schemes={"http", "https"}, **kwargs)


def _boolean(default: bool, **kwargs: Any) -> fields.Boolean:
    return fields.Boolean(load_default=default, truthy={True}, falsy={False}, **kwargs)


def _about(description: str, **more: Any) -> dict[str, Any]:
    """Field metadata for ``crmhub config init``: a one-line description, and ``example``,
    ``secret`` or ``set_in_template`` where they apply."""
    return {"description": description, **more}


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
    records_relationship = _api_name(load_default=None, allow_none=True)
    """The child relationship from this object to the records (default: ``person_records_relationship``)."""

    @validates_schema
    def _something_to_match(self, data: dict[str, Any], **_: Any) -> None:
        if not (data.get("phone_fields") or data.get("email_fields") or data.get("external_id_field")):
            raise ValidationError("name at least one of phone_fields, email_fields, external_id_field")


class SalesforceSettingsSchema(Schema):
    """``[crm.salesforce]``. Secrets (``client_secret``, ``private_key``) belong in ``env:NAME``."""

    class Meta:
        unknown = RAISE

    # --- connection and OAuth ----------------------------------------------------------------------
    auth_flow = fields.String(
        load_default=CLIENT_CREDENTIALS, validate=validate.OneOf(AUTH_FLOWS),
        metadata=_about('How crmhub gets its access token: "client_credentials" or "jwt_bearer".'),
    )
    client_id = fields.String(
        required=True, validate=validate.Length(min=1),
        metadata=_about("The connected app's consumer key.", example="3MVG9EXAMPLECONSUMERKEY"),
    )
    client_secret = fields.String(
        load_default=None, allow_none=True,
        metadata=_about("The connected app's consumer secret (client_credentials flow).", secret=True, set_in_template=True),
    )
    username = fields.String(
        load_default=None, allow_none=True,
        metadata=_about("jwt_bearer flow: the Salesforce user the token is issued for.", example="integration@acme.example"),
    )
    private_key = fields.String(
        load_default=None, allow_none=True,
        metadata=_about("jwt_bearer flow: the RSA private key (PEM); this or private_key_file.", secret=True),
    )
    private_key_file = fields.String(
        load_default=None, allow_none=True,
        metadata=_about(
            "jwt_bearer flow: a PEM file with the RSA private key, relative to this file's folder; "
            "this or private_key.",
            example="salesforce-key.pem",
        ),
    )
    jwt_audience = fields.String(
        load_default=DEFAULT_LOGIN_URL,
        metadata=_about("jwt_bearer flow: the JWT aud (https://test.salesforce.com for sandboxes)."),
    )
    login_url = _url(
        load_default=DEFAULT_LOGIN_URL,
        metadata=_about(
            "Where the token is requested; the client_credentials flow needs your My Domain URL "
            "(default https://login.salesforce.com).",
            example="https://acme.my.salesforce.com",
            set_in_template=True,
        ),
    )
    instance_url = _url(
        load_default=None, allow_none=True,
        metadata=_about(
            "A fixed instance URL for the REST calls (default: the token response's instance_url).",
            example="https://acme.my.salesforce.com",
        ),
    )
    base_url = settings_fields.base_url("both login_url and instance_url")
    api_version = fields.String(
        load_default=DEFAULT_API_VERSION, validate=validate.Regexp(r"^v\d+\.\d$", error="expected a version like v60.0"),
        metadata=_about("The REST API version in every data URL."),
    )
    timeout_seconds = settings_fields.timeout_seconds(DEFAULT_TIMEOUT_SECONDS)

    # --- who the end user is -----------------------------------------------------------------------
    default_phone_region = settings_fields.default_phone_region(
        "The region of numbers without a country code (default: a stored number is read in the end "
        "user's own region)."
    )
    person_object = _api_name(
        load_default="Contact", metadata=_about("The object end users are looked up in and created as.")
    )
    person_phone_fields = fields.List(
        _api_name(), load_default=lambda: ["Phone", "MobilePhone"],
        metadata=_about("Phone fields searched; the first one is written on new contacts."),
    )
    person_email_fields = fields.List(
        _api_name(), load_default=lambda: ["Email"],
        metadata=_about("Email fields searched; the first one is written on new contacts."),
    )
    person_external_id_field = _unset_api_name(
        "A field holding the host's end_user.id: matched first, written on new contacts (none by default).",
        example="Crmhub_End_User_Id__c",
    )
    secondary_lookup = fields.Nested(
        SecondaryLookupSchema, load_default=None, allow_none=True,
        metadata=_about(
            "A second object tried when no person matches (object, record_field, phone_fields, email_fields, "
            "external_id_field, records_relationship); none by default.",
            example={
                "object": "Account", "record_field": "AccountId",
                "phone_fields": ["PersonMobilePhone"], "email_fields": ["PersonEmail"],
            },
        ),
    )
    create_contacts = _boolean(True, metadata=_about("Create a contact when nobody matches."))
    person_cache_seconds = fields.Integer(
        load_default=DEFAULT_PERSON_CACHE_SECONDS, strict=True, validate=validate.Range(min=0),
        metadata=_about("How long a person match (or miss) is remembered per client, in seconds; 0 = ask every time."),
    )

    # --- the record ----------------------------------------------------------------------------------
    record_object = _api_name(
        load_default=objects.CASE,
        metadata=_about(
            "The object crmhub writes: Case, Opportunity, or another object whose fields are all named below."
        ),
    )
    subject_field = _unset_api_name(
        "The field for the title (default: record_object's preset, Subject for Case).", example="Subject",
    )
    subject_max_length = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1),
        metadata=_about("Titles are cut to this length (default: the preset's, 255 for Case).", example=255),
    )
    description_field = _unset_api_name(
        "The field for the session description (default: the preset's, Description for Case).",
        example="Description",
    )
    status_field = _unset_api_name(
        "The status field reopening sets (default: the preset's, Status for Case).", example="Status",
    )
    closed_field = _unset_api_name(
        "The record is open while this boolean is false (default: the preset's, IsClosed).", example="IsClosed",
    )
    closed_at_field = _unset_api_name(
        "The close time the reopen window counts from (default: the preset's, ClosedDate for Case).",
        example="ClosedDate",
    )
    closed_at_type = fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(("datetime", "date")),
        metadata=_about(
            'Whether closed_at_field is a "datetime" or a "date" (read as midnight UTC); default: the preset\'s.',
            example="datetime",
        ),
    )
    contact_field = _unset_api_name(
        "The lookup to the matched person (default: the preset's, ContactId).", example="ContactId",
    )
    person_records_relationship = _unset_api_name(
        "The child relationship from person_object to the records through contact_field, used to read a person "
        "and their records in one query (default: the preset's, Cases for Case; a custom lookup's ends in __r).",
        example="Cases",
    )
    origin_field = _optional_api_name(
        metadata=_about(
            'The field for the channel\'s origin value; "" for none (default: the preset\'s, Origin for Case).',
            example="Origin",
        ),
    )
    owner_field = _optional_api_name(
        metadata=_about(
            'The owner field queue_owners sets; "" for none (default: the preset\'s, OwnerId).', example="OwnerId"
        ),
    )
    event_date_fields = fields.List(
        _api_name(), load_default=None, allow_none=True,
        metadata=_about(
            "Date fields set to the event's date on create (default: the preset's, none for Case).",
            example=["CloseDate"],
        ),
    )
    origin_values = fields.Dict(
        keys=fields.String(validate=validate.OneOf(("call", "chat"))), values=fields.String(),
        load_default=lambda: {"call": "Phone", "chat": "Chat"},
        metadata=_about("The origin value written for each channel."),
    )
    queue_owners = fields.Dict(
        keys=fields.String(), values=fields.String(validate=validate.Length(min=1)), load_default=dict,
        metadata=_about(
            "Leaf queue id -> the owner (a queue 00G... or a user) of its new records; others keep the default owner.",
            example={"q-42": "00G5e000000AbCdEAK"},
        ),
    )
    leaf_queue_field = _api_name(
        load_default=DEFAULT_LEAF_QUEUE_FIELD,
        metadata=_about("The text field holding the leaf-queue mark crmhub finds its records by."),
    )
    session_id_field = _api_name(
        load_default=DEFAULT_SESSION_ID_FIELD, metadata=_about("The text field holding crmhub's session id.")
    )
    upsert_field = _unset_api_name(
        "An External ID field: records are created by upsert on it, keyed by the session id (none by default).",
        example="Crmhub_Session_Id__c",
    )
    tags_field = _unset_api_name(
        "A multi-select picklist or text field for tags; without it tags are not written (Salesforce has none).",
        example="Crmhub_Tags__c",
    )
    tags_separator = fields.String(
        load_default=";", validate=validate.Length(min=1),
        metadata=_about("The separator between tags in tags_field."),
    )
    open_status = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(min=1),
        metadata=_about(
            "The status reopening sets, also written on create (default: the org's default CaseStatus; "
            "required for objects other than Case).",
            example="Working",
        ),
    )

    # --- notes for appended sessions ------------------------------------------------------------------
    note_object = _unset_api_name(
        "The object of an appended session's note (default: the preset's, CaseComment).", example="CaseComment",
    )
    note_parent_field = _unset_api_name(
        "The note's lookup to the record (default: the preset's, ParentId).", example="ParentId",
    )
    note_body_field = _unset_api_name(
        "The note's text field (default: the preset's, CommentBody for Case).", example="CommentBody",
    )
    note_title_field = _optional_api_name(
        metadata=_about('The note\'s title field; "" for none (default: the preset\'s, none for Case).', example="Title"),
    )
    note_max_bytes = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(min=100),
        metadata=_about("Longer notes are truncated (default: the preset's, 4000 for Case).", example=4000),
    )
    note_fields = fields.Dict(
        keys=fields.String(validate=_API_NAME), load_default=None, allow_none=True,
        metadata=_about(
            "Fixed values written on every note (default: the preset's, a private comment for Case).",
            example={"IsPublished": False},
        ),
    )

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
        secondary = data.get("secondary_lookup")
        if secondary and not secondary.get("records_relationship"):
            secondary["records_relationship"] = data["person_records_relationship"]
        return data
