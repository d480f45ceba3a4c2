"""Loading and validating the settings file (SPEC sections 3, 4 and 7).

Everything is checked at load time and every problem is reported at once, each under its dotted
key: the TOML syntax, ``env:NAME`` references, ``[record_creation]`` (title template included),
``[store]``, ``[session_types]`` and, through the plugin's own schema, ``[crm.KEY]``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates

from crmhub.core.errors import SettingsError
from crmhub.core.schema_fields import StrictBoolean, StrictInteger
from crmhub.core.titles import DEFAULT_TITLE, TemplateError, TitleTemplate

ENV_PREFIX = "env:"
ABANDONED_CHAT_MODES = ("off", "all", "min_messages")
DEFAULT_STORE_URL = "sqlite:///crmhub.db"


@dataclass(frozen=True)
class RecordCreationSettings:
    """``[record_creation]`` with the defaults of SPEC section 7."""

    append_to_open_record: bool = False
    append_to_closed_within_days: int = 0
    delay_call_until_connected: bool = False
    delay_chat_until_consumer_messages: int = 0
    create_for_abandoned_calls: bool = False
    abandoned_chats: str = "off"
    abandoned_chat_min_messages: int = 1
    chat_short_abandon_seconds: int = 30
    title: str = DEFAULT_TITLE
    timezone: str = "UTC"
    timestamp_format: str = "%Y-%m-%d %H:%M %Z"
    add_session_type_tag: bool = False
    add_platform_tag: bool = False
    platform_tag: str = "UJET"

    @property
    def title_template(self) -> TitleTemplate:
        return TitleTemplate(self.title)


@dataclass(frozen=True)
class Settings:
    """The whole validated settings file."""

    crm: str
    crm_settings: Mapping[str, Any]
    record_creation: RecordCreationSettings
    store_url: str
    session_types: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    config_dir: Path = Path(".")
    warnings: tuple[str, ...] = ()


def _defaults() -> RecordCreationSettings:
    return RecordCreationSettings()


def _about(description: str) -> dict[str, str]:
    """Field metadata: the one-line description ``crmhub config init`` writes above the key."""
    return {"description": description}


def _boolean(default: bool, description: str) -> StrictBoolean:
    return StrictBoolean(load_default=default, metadata=_about(description))


class RecordCreationSchema(Schema):
    class Meta:
        unknown = RAISE

    _d = _defaults()
    append_to_open_record = _boolean(
        _d.append_to_open_record,
        "Rule 1: add a session to the end user's newest open record created from the same leaf queue, "
        "instead of making a new record.",
    )
    append_to_closed_within_days = StrictInteger(
        load_default=_d.append_to_closed_within_days, validate=validate.Range(min=0),
        metadata=_about(
            "Rule 2: also add to such a record closed no more than N days before the event, and reopen it "
            "(0 = off; needs rule 1)."
        ),
    )
    delay_call_until_connected = _boolean(
        _d.delay_call_until_connected,
        "Rule 3: make a call's record when the call connects to an agent, not when it is assigned.",
    )
    delay_chat_until_consumer_messages = StrictInteger(
        load_default=_d.delay_chat_until_consumer_messages, validate=validate.Range(min=0),
        metadata=_about(
            "Rule 4: make a chat's record once it is assigned and the end user sent N messages (0 = at assignment)."
        ),
    )
    create_for_abandoned_calls = _boolean(
        _d.create_for_abandoned_calls, "Rule 5: a call abandoned before an agent connected still gets a record."
    )
    abandoned_chats = fields.String(
        load_default=_d.abandoned_chats, validate=validate.OneOf(ABANDONED_CHAT_MODES),
        metadata=_about(
            'Rule 6: records for abandoned chats: "off" (none), "all", or "min_messages" '
            "(when the end user sent abandoned_chat_min_messages)."
        ),
    )
    abandoned_chat_min_messages = StrictInteger(
        load_default=_d.abandoned_chat_min_messages, validate=validate.Range(min=1),
        metadata=_about('The end-user messages an abandoned chat needs under abandoned_chats = "min_messages".'),
    )
    chat_short_abandon_seconds = StrictInteger(
        load_default=_d.chat_short_abandon_seconds, validate=validate.Range(min=0),
        metadata=_about(
            "A chat abandoned within this many seconds of its start is short-abandoned "
            "(the outcome's reason says so; no decision changes)."
        ),
    )
    title = fields.String(
        load_default=_d.title,
        metadata=_about(
            "Rule 7: the record title template; variables {CALL_TYPE} {CALL_ID} {MENU_PATH} {PHONE_NUMBER} "
            "{LANGUAGE} {TIMESTAMP}."
        ),
    )
    timezone = fields.String(
        load_default=_d.timezone, metadata=_about("The time zone of {TIMESTAMP}: an IANA name such as Europe/Berlin.")
    )
    timestamp_format = fields.String(
        load_default=_d.timestamp_format,
        metadata=_about("The strftime format of {TIMESTAMP}, the session's start time."),
    )
    add_session_type_tag = _boolean(
        _d.add_session_type_tag, "Rule 8: tag records with the session type, in the form the CRM expects."
    )
    add_platform_tag = _boolean(_d.add_platform_tag, "Rule 8: also tag records with platform_tag.")
    platform_tag = fields.String(
        load_default=_d.platform_tag, validate=validate.Length(min=1),
        metadata=_about("The platform tag that add_platform_tag adds."),
    )
    del _d

    @validates("title")
    def _title(self, value: str, **_: Any) -> None:
        try:
            TitleTemplate(value)
        except TemplateError as error:
            raise ValidationError(str(error)) from None

    @validates("timezone")
    def _timezone(self, value: str, **_: Any) -> None:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError(f"unknown time zone {value!r} (an IANA name such as 'Europe/Berlin')") from None


class SessionTypeSchema(Schema):
    class Meta:
        unknown = RAISE

    channel = fields.String(required=True, validate=validate.OneOf(("call", "chat")))
    label = fields.String(required=True, validate=validate.Length(min=1))
    tags = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)


class StoreSchema(Schema):
    class Meta:
        unknown = RAISE

    url = fields.String(
        load_default=DEFAULT_STORE_URL,
        validate=validate.Regexp(
            r"^(sqlite:///|postgres(ql)?://).+", error="must be sqlite:///PATH or postgresql://HOST/DATABASE"
        ),
        metadata=_about(
            "crmhub's own state (sessions, handled event ids, queued work): sqlite:///PATH, "
            "a relative PATH is read from this file's folder; or postgresql://USER@HOST/DATABASE "
            "for several instances sharing one store (pip install 'crmhub[postgres]')."
        ),
    )


def _flatten(messages: Any, prefix: str) -> dict[str, list[str]]:
    """marshmallow's nested error tree → ``{"a.b": ["problem", ...]}``."""
    if isinstance(messages, Mapping):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            name = prefix if key == "_schema" else (f"{prefix}.{key}" if prefix else str(key))
            for k, v in _flatten(value, name).items():
                flat.setdefault(k, []).extend(v)
        return flat
    if isinstance(messages, list):
        if all(isinstance(m, str) for m in messages):
            return {prefix: [m.replace("Unknown field.", "unknown key") for m in messages]}
        flat = {}
        for item in messages:
            for k, v in _flatten(item, prefix).items():
                flat.setdefault(k, []).extend(v)
        return flat
    return {prefix: [str(messages)]}


def resolve_env(value: Any, path: str, errors: dict[str, list[str]], environ: Mapping[str, str]) -> Any:
    """Replace every ``"env:NAME"`` string with the variable's value; note each missing one."""
    if isinstance(value, str) and value.startswith(ENV_PREFIX):
        name = value[len(ENV_PREFIX):]
        if name in environ:
            return environ[name]
        errors.setdefault(path, []).append(f"environment variable {name} is not set")
        return None
    if isinstance(value, Mapping):
        return {k: resolve_env(v, f"{path}.{k}" if path else k, errors, environ) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_env(v, f"{path}[{i}]", errors, environ) for i, v in enumerate(value)]
    return value


def _store_url(url: str, config_dir: Path) -> str:
    """Resolve a relative SQLite path against the settings file's folder."""
    prefix = "sqlite:///"
    if url.startswith(prefix):
        path = Path(url[len(prefix):])
        if not path.is_absolute() and str(path) != ":memory:":
            return prefix + str((config_dir / path).resolve())
    return url


def contradiction_warnings(rules: RecordCreationSettings) -> list[str]:
    """Accepted but self-contradicting combinations, said in words (SPEC section 7)."""
    warnings = []
    if rules.delay_call_until_connected and rules.create_for_abandoned_calls:
        warnings.append(
            "record_creation: delay_call_until_connected and create_for_abandoned_calls are both on: "
            "only calls connected to an agent get records, so abandoned calls get none"
        )
    if rules.append_to_closed_within_days and not rules.append_to_open_record:
        warnings.append(
            "record_creation: append_to_closed_within_days has no effect while "
            "append_to_open_record is off"
        )
    return warnings


SchemaLookup = Callable[[str], "Schema | None"]


def load_settings(
    source: str | os.PathLike[str] | Mapping[str, Any],
    plugin_schema: SchemaLookup | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Load settings from a TOML file path or an already-parsed mapping.

    ``plugin_schema(crm)`` returns the CRM plugin's schema (None when no plugin has that key). For a
    mapping, relative paths resolve against the current folder. All problems are raised together
    as one :class:`SettingsError`.
    """
    environ = os.environ if environ is None else environ
    errors: dict[str, list[str]] = {}
    if isinstance(source, Mapping):
        raw: Mapping[str, Any] = source
        config_dir = Path.cwd()
    else:
        path = Path(source)
        config_dir = path.resolve().parent
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SettingsError({"file": [f"settings file {str(path)!r} not found"]}) from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise SettingsError({"file": [f"not valid TOML: {error}"]}) from None
        except OSError as error:
            raise SettingsError({"file": [f"cannot read {str(path)!r}: {error.strerror or error}"]}) from None

    data = resolve_env(raw, "", errors, environ)
    unset_env_keys = set(errors)  # schemas would only add "may not be null" for these

    def add(messages: Any, prefix: str) -> None:
        for key, problems in _flatten(messages, prefix).items():
            if key not in unset_env_keys:
                errors.setdefault(key, []).extend(problems)

    def table(mapping: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
        value = mapping.get(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            errors.setdefault(where, []).append("must be a table")
            return {}
        return value

    for key in sorted(set(data) - {"crm", "record_creation", "store", "session_types"}):
        errors.setdefault(key, []).append("unknown section")

    crm_section = table(data, "crm", "crm")
    crm = crm_section.get("plugin", "local")
    if not isinstance(crm, str) or not crm:
        errors.setdefault("crm.plugin", []).append("must be the name of an installed CRM plugin")
        crm = ""

    rules = RecordCreationSettings()
    try:
        rules = RecordCreationSettings(**RecordCreationSchema().load(table(data, "record_creation", "record_creation")))
    except ValidationError as error:
        add(error.messages, "record_creation")

    store_url = DEFAULT_STORE_URL
    try:
        store_url = StoreSchema().load(table(data, "store", "store"))["url"]
    except ValidationError as error:
        add(error.messages, "store")

    session_types: dict[str, Mapping[str, Any]] = {}
    for name in table(data, "session_types", "session_types"):
        where = f'session_types."{name}"'
        try:
            session_types[name] = SessionTypeSchema().load(table(data["session_types"], name, where))
        except ValidationError as error:
            add(error.messages, where)

    crm_settings: Mapping[str, Any] = {}
    for key, value in crm_section.items():
        if key != "plugin" and not isinstance(value, Mapping):
            errors.setdefault(f"crm.{key}", []).append("unknown key (CRM settings go in [crm.NAME])")
    section = table(crm_section, crm, f"crm.{crm}") if crm else {}
    if crm and plugin_schema is not None:
        schema = plugin_schema(crm)
        if schema is None:
            errors.setdefault("crm.plugin", []).append(
                f"no installed plugin provides the CRM {crm!r} (see `crmhub plugins`)"
            )
        else:
            try:
                crm_settings = schema.load(section)
            except ValidationError as error:
                add(error.messages, f"crm.{crm}")
    else:
        crm_settings = section

    if errors:
        raise SettingsError(errors)
    return Settings(
        crm=crm,
        crm_settings=crm_settings,
        record_creation=rules,
        store_url=_store_url(store_url, config_dir),
        session_types=session_types,
        config_dir=config_dir,
        warnings=tuple(contradiction_warnings(rules)),
    )
