"""A commented settings file for one CRM, written from the schemas that will validate it.

``crmhub config init`` writes it. Because every key comes from a marshmallow schema (the CRM
plugin's ``crm_settings_schema``, :class:`~crmhub.core.settings.RecordCreationSchema`,
:class:`~crmhub.core.settings.StoreSchema`), the file lists exactly the keys crmhub accepts, with
the defaults it applies, and cannot drift from them.

How a field is written depends on the schema and on these keys of the field's ``metadata``:

``description``
    one line, written as a comment above the key.
``secret``
    the value is a credential: the key is written as ``"env:CRMHUB_<CRM>_<KEY>"`` so that the
    secret itself never sits in the file.
``example``
    a value to show where the field has no default (or an empty one), and the placeholder of a
    required field.
``set_in_template``
    write the key set (not commented out) although the schema does not require it, because a
    rule across keys needs it in a working file (Zendesk's ``subdomain``, unless ``base_url``).

A required field, or one marked ``set_in_template``, is written set: to its environment variable
if it is secret, else to its example. Every other field is commented out, showing its default, or
its example where it has no default. A plugin that gives no metadata still gets every key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from marshmallow import Schema, fields, missing

from crmhub.core.settings import RecordCreationSchema, StoreSchema

_BARE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PLACEHOLDERS: Sequence[tuple[type[fields.Field], Any]] = (
    (fields.Boolean, False),
    (fields.Integer, 0),
    (fields.Float, 0.0),
    (fields.List, []),
    (fields.Dict, {}),
    (fields.Nested, {}),
)


@dataclass
class SettingsTemplate:
    """The file's text, and what the integrator must do before it works."""

    text: str
    environment_variables: list[str] = field(default_factory=list)
    """Variables the file reads (``env:NAME`` values that are set, not commented out)."""
    examples_to_replace: list[str] = field(default_factory=list)
    """Dotted keys set to an example value (``crm.zendesk.subdomain``) that must be made real."""


def environment_variable(crm: str, key: str) -> str:
    """``CRMHUB_ZENDESK_API_TOKEN`` for the key ``api_token`` of the CRM ``zendesk``."""
    return re.sub(r"[^A-Z0-9]+", "_", f"CRMHUB_{crm}_{key}".upper())


def toml_key(name: str) -> str:
    return name if _BARE_KEY.match(name) else json.dumps(name)


def toml_value(value: Any) -> str:
    """A Python value as a TOML value (inline tables for mappings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{toml_key(str(k))} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def _default(schema_field: fields.Field) -> Any:
    """The value the schema loads when the key is absent; None where there is none."""
    default = schema_field.load_default
    if default is missing:
        return None
    return default() if callable(default) else default


def _placeholder(schema_field: fields.Field) -> Any:
    for kind, value in _PLACEHOLDERS:
        if isinstance(schema_field, kind):
            return value
    return ""


def _section(title: str, schema: Schema, crm: str, template: SettingsTemplate) -> list[str]:
    """``[title]`` and one commented entry per field of ``schema``; secrets are named after ``crm``."""
    lines = [f"[{title}]"]
    for name, schema_field in schema.fields.items():
        key = schema_field.data_key or name
        about = schema_field.metadata
        if about.get("description"):
            lines.append(f"# {about['description']}")
        wanted = schema_field.required or about.get("set_in_template", False)
        default = _default(schema_field)
        if about.get("secret"):
            variable = environment_variable(crm, key)
            value, note = f"env:{variable}", "read from the environment"
            if wanted:
                template.environment_variables.append(variable)
        elif wanted:
            value = about.get("example", default if default is not None else _placeholder(schema_field))
            note = "required: replace this example" if schema_field.required else "replace this example"
            template.examples_to_replace.append(f"{title}.{key}")
        elif default not in (None, {}, []) or "example" not in about:
            value, note = (default, "") if default is not None else (_placeholder(schema_field), "unset by default")
        else:
            value, note = about["example"], "example"
        line = f"{toml_key(key)} = {toml_value(value)}" + (f"  # {note}" if note else "")
        lines.append(line if wanted else f"# {line}")
    return lines


def settings_template(crm: str, crm_schema: Schema) -> SettingsTemplate:
    """The settings file for the CRM ``crm``, whose plugin validates its section with ``crm_schema``."""
    template = SettingsTemplate(text="")
    header = [
        f"# crmhub settings for the CRM {crm!r}, written by `crmhub config init --crm {crm}`.",
        "# A commented-out key shows its default (or an example, marked so); uncomment it to change it.",
        "# Secrets are never written here: a value \"env:NAME\" is read from the environment variable NAME.",
        "# Relative paths are read from this file's folder. Check the file with `crmhub config check FILE`.",
        "",
        "[crm]",
        "# The installed CRM plugin that acts (see `crmhub plugins`).",
        f"plugin = {toml_value(crm)}",
        "",
    ]
    parts = [
        header,
        _section(f"crm.{toml_key(crm)}", crm_schema, crm, template),
        [""],
        ["# The record-creation rules (rules 1 to 8) and the title and tags of records."],
        _section("record_creation", RecordCreationSchema(), crm, template),
        [""],
        _section("store", StoreSchema(), crm, template),
    ]
    template.text = "\n".join(line for part in parts for line in part) + "\n"
    return template
