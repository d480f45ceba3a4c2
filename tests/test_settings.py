"""Settings loading and validation (SPEC section 7, with the rules of section 3 and titles of section 4)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crmhub.core.dispatcher import settings_schema_lookup
from crmhub.core.errors import SettingsError
from crmhub.core.session_types import SessionTypeCatalogue
from crmhub.core.settings import RecordCreationSettings, load_settings
from crmhub.plugins import load_plugins

SPEC_EXAMPLE = """
[crm]
plugin = "zendesk"

[crm.zendesk]
subdomain = "acme"
email = "admin@acme.example"
api_token = "env:ZENDESK_API_TOKEN"

[record_creation]
append_to_open_record = true
append_to_closed_within_days = 3
delay_call_until_connected = false
delay_chat_until_consumer_messages = 0
create_for_abandoned_calls = true
abandoned_chats = "min_messages"
abandoned_chat_min_messages = 2
chat_short_abandon_seconds = 30
title = "{CALL_TYPE} {CALL_ID} {TIMESTAMP}"
timezone = "UTC"
timestamp_format = "%Y-%m-%d %H:%M %Z"
add_session_type_tag = true
add_platform_tag = true
platform_tag = "UJET"

[store]
url = "sqlite:///crmhub.db"
"""

# The defaults of [record_creation] exactly as SPEC section 7 lists them.
SPEC_DEFAULTS: dict[str, Any] = {
    "append_to_open_record": False,
    "append_to_closed_within_days": 0,
    "delay_call_until_connected": False,
    "delay_chat_until_consumer_messages": 0,
    "create_for_abandoned_calls": False,
    "abandoned_chats": "off",
    "abandoned_chat_min_messages": 1,
    "chat_short_abandon_seconds": 30,
    "title": "{CALL_TYPE} {CALL_ID}",
    "timezone": "UTC",
    "timestamp_format": "%Y-%m-%d %H:%M %Z",
    "add_session_type_tag": False,
    "add_platform_tag": False,
    "platform_tag": "UJET",
}


@pytest.fixture(scope="module")
def local_schema_lookup():
    """The real wiring: the schema of whichever installed CRM plugin the settings name."""
    plugins = load_plugins(environ={"CRMHUB_LOAD_PLUGINS": "builtin,local"})
    assert not plugins.errors
    return settings_schema_lookup(plugins.hooks)


def write(tmp_path: Path, text: str, name: str = "crmhub.toml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def errors_of(source: Any, **kwargs: Any) -> dict[str, list[str]]:
    kwargs.setdefault("environ", {})
    with pytest.raises(SettingsError) as caught:
        load_settings(source, **kwargs)
    return caught.value.errors


# --- sources and defaults -------------------------------------------------------------------------


def test_spec_example_file_loads_with_env_secret(tmp_path):
    path = write(tmp_path, SPEC_EXAMPLE)
    settings = load_settings(path, environ={"ZENDESK_API_TOKEN": "tok-123"})
    assert settings.crm == "zendesk"
    assert settings.crm_settings == {"subdomain": "acme", "email": "admin@acme.example", "api_token": "tok-123"}
    rules = settings.record_creation
    assert rules.append_to_open_record is True
    assert rules.append_to_closed_within_days == 3
    assert rules.create_for_abandoned_calls is True
    assert rules.abandoned_chats == "min_messages"
    assert rules.abandoned_chat_min_messages == 2
    assert rules.title == "{CALL_TYPE} {CALL_ID} {TIMESTAMP}"
    assert rules.add_session_type_tag is True and rules.add_platform_tag is True
    assert settings.warnings == ()


def test_mapping_source_gives_the_same_settings_as_the_file(tmp_path, monkeypatch):
    import tomllib

    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, SPEC_EXAMPLE)
    environ = {"ZENDESK_API_TOKEN": "tok-123"}
    from_file = load_settings(path, environ=environ)
    from_mapping = load_settings(tomllib.loads(SPEC_EXAMPLE), environ=environ)
    assert from_mapping.record_creation == from_file.record_creation
    assert from_mapping.crm_settings == from_file.crm_settings
    assert from_mapping.store_url == from_file.store_url


def test_every_record_creation_default_is_the_spec_default():
    loaded = load_settings({}, environ={}).record_creation
    assert {name: getattr(loaded, name) for name in SPEC_DEFAULTS} == SPEC_DEFAULTS
    constructed = RecordCreationSettings()
    assert {name: getattr(constructed, name) for name in SPEC_DEFAULTS} == SPEC_DEFAULTS


@pytest.mark.parametrize("absent", sorted(SPEC_DEFAULTS))
def test_each_absent_key_takes_its_default_while_the_others_are_set(absent):
    others = {
        "append_to_open_record": True,
        "append_to_closed_within_days": 5,
        "delay_call_until_connected": True,
        "delay_chat_until_consumer_messages": 4,
        "create_for_abandoned_calls": False,
        "abandoned_chats": "all",
        "abandoned_chat_min_messages": 3,
        "chat_short_abandon_seconds": 12,
        "title": "{CALL_ID}",
        "timezone": "Europe/Berlin",
        "timestamp_format": "%H:%M",
        "add_session_type_tag": True,
        "add_platform_tag": True,
        "platform_tag": "ACME",
    }
    del others[absent]
    rules = load_settings({"record_creation": others}, environ={}).record_creation
    assert getattr(rules, absent) == SPEC_DEFAULTS[absent]
    for name, value in others.items():
        assert getattr(rules, name) == value


def test_a_file_that_is_missing_or_not_toml_is_a_settings_error(tmp_path):
    assert "file" in errors_of(tmp_path / "nowhere.toml")
    broken = write(tmp_path, "[record_creation\nappend_to_open_record = true\n")
    assert "not valid TOML" in " ".join(errors_of(broken)["file"])


# --- env: values ----------------------------------------------------------------------------------


def test_env_values_are_read_from_the_given_environment():
    settings = load_settings(
        {"crm": {"plugin": "local", "local": {"path": "env:RECORDS_FILE"}}},
        environ={"RECORDS_FILE": "/srv/records.db"},
    )
    assert settings.crm_settings["path"] == "/srv/records.db"


def test_a_missing_env_variable_is_named_and_everything_else_is_still_checked():
    errors = errors_of(
        {
            "crm": {"plugin": "zendesk", "zendesk": {"api_token": "env:ZENDESK_API_TOKEN"}},
            "record_creation": {"abandoned_chats": "sometimes", "append_to_closed_within_days": -1},
        },
        environ={},
    )
    assert any("ZENDESK_API_TOKEN" in problem for problem in errors["crm.zendesk.api_token"])
    assert "record_creation.abandoned_chats" in errors
    assert "record_creation.append_to_closed_within_days" in errors


@pytest.mark.parametrize(
    "raw, key",
    [
        ({"record_creation": {"title": "env:TITLE"}}, "record_creation.title"),
        ({"store": {"url": "env:STORE_URL"}}, "store.url"),
        ({"crm": {"plugin": "local", "local": {"path": "env:RECORDS_FILE"}}}, "crm.local.path"),
    ],
)
def test_a_missing_env_variable_is_one_problem_not_a_null_value_too(raw, key, local_schema_lookup):
    problems = errors_of(raw, plugin_schema=local_schema_lookup)[key]
    assert len(problems) == 1
    assert "is not set" in problems[0]


def test_a_missing_env_variable_is_reported_together_with_plugin_schema_errors(local_schema_lookup):
    errors = errors_of(
        {"crm": {"plugin": "local", "local": {"path": "env:RECORDS_FILE", "colour": "blue"}}},
        plugin_schema=local_schema_lookup,
    )
    assert any("RECORDS_FILE" in problem for problem in errors["crm.local.path"])
    assert "crm.local.colour" in errors


def test_env_values_are_resolved_inside_nested_tables_and_lists():
    settings = load_settings(
        {"crm": {"plugin": "thing", "thing": {"auth": {"key": "env:K"}, "hosts": ["env:H", "plain"]}}},
        environ={"K": "secret-k", "H": "host-1"},
    )
    assert settings.crm_settings == {"auth": {"key": "secret-k"}, "hosts": ["host-1", "plain"]}


def test_a_secret_from_the_environment_never_appears_in_an_error(local_schema_lookup):
    with pytest.raises(SettingsError) as caught:
        load_settings(
            {"crm": {"plugin": "local", "local": {"path": "env:P", "api_token": "env:TOKEN"}}},
            plugin_schema=local_schema_lookup,
            environ={"P": "records.db", "TOKEN": "very-secret-value"},
        )
    assert "crm.local.api_token" in caught.value.errors
    assert "very-secret-value" not in str(caught.value)


# --- errors: every one, under its dotted key, all together ---------------------------------------


def test_all_errors_are_reported_together_each_under_its_dotted_key():
    errors = errors_of(
        {
            "record_creation": {
                "append_to_open_record": "yes",
                "append_to_closed_within_days": "3",
                "chat_short_abandon_seconds": 2.5,
                "title": 7,
                "timezone": "Mars/Olympus",
                "abandoned_chats": "sometimes",
                "colour": "blue",
            },
            "store": {"url": "mysql://db"},
            "extras": {},
        }
    )
    assert set(errors) == {
        "record_creation.append_to_open_record",
        "record_creation.append_to_closed_within_days",
        "record_creation.chat_short_abandon_seconds",
        "record_creation.title",
        "record_creation.timezone",
        "record_creation.abandoned_chats",
        "record_creation.colour",
        "store.url",
        "extras",
    }


def test_the_error_message_lists_every_problem_with_its_key():
    with pytest.raises(SettingsError) as caught:
        load_settings(
            {"record_creation": {"abandoned_chats": "never", "timezone": "Nowhere/Land"}}, environ={}
        )
    text = str(caught.value)
    assert "record_creation.abandoned_chats:" in text
    assert "record_creation.timezone:" in text


@pytest.mark.parametrize(
    "key, value",
    [
        ("append_to_open_record", "true"),
        ("delay_call_until_connected", "no"),
        ("add_session_type_tag", "1"),
        ("append_to_closed_within_days", 1.5),
        ("append_to_closed_within_days", "3"),
        ("append_to_closed_within_days", True),
        ("delay_chat_until_consumer_messages", "two"),
        ("abandoned_chat_min_messages", [2]),
        ("chat_short_abandon_seconds", "30s"),
        ("title", 5),
        ("timezone", 0),
        ("platform_tag", False),
    ],
)
def test_a_wrong_type_is_an_error_under_its_key(key, value):
    assert f"record_creation.{key}" in errors_of({"record_creation": {key: value}})


@pytest.mark.parametrize("value", [1, 0, 1.0])
def test_an_integer_is_not_accepted_as_a_boolean(value):
    assert "record_creation.append_to_open_record" in errors_of({"record_creation": {"append_to_open_record": value}})


@pytest.mark.parametrize(
    "key, value",
    [
        ("append_to_closed_within_days", -1),
        ("delay_chat_until_consumer_messages", -2),
        ("abandoned_chat_min_messages", 0),
        ("chat_short_abandon_seconds", -30),
        ("platform_tag", ""),
    ],
)
def test_out_of_range_values_are_errors(key, value):
    assert f"record_creation.{key}" in errors_of({"record_creation": {key: value}})


def test_unknown_keys_are_errors_in_every_section():
    errors = errors_of(
        {
            "crm": {"plugin": "local", "stray": 1},
            "record_creation": {"append_to_open_records": True},
            "store": {"path": "x.db"},
            "logging": {"level": "debug"},
        }
    )
    assert "record_creation.append_to_open_records" in errors
    assert "store.path" in errors
    assert "crm.stray" in errors
    assert "logging" in errors
    assert all("unknown" in problems[0] for problems in errors.values())


def test_a_bad_abandoned_chats_mode_says_which_modes_are_valid():
    problems = " ".join(errors_of({"record_creation": {"abandoned_chats": "some"}})["record_creation.abandoned_chats"])
    for mode in ("off", "all", "min_messages"):
        assert mode in problems


@pytest.mark.parametrize("mode", ["off", "all", "min_messages"])
def test_every_abandoned_chats_mode_is_accepted(mode):
    assert load_settings({"record_creation": {"abandoned_chats": mode}}, environ={}).record_creation.abandoned_chats == mode


@pytest.mark.parametrize("title", ["{CALL_TYPE} {CALLER}", "{CALL_ID", "CALL_ID}", "{CALL_TYPE}}", "{}"])
def test_a_bad_title_template_is_an_error_listing_the_valid_names(title):
    problems = " ".join(errors_of({"record_creation": {"title": title}})["record_creation.title"])
    for name in ("CALL_TYPE", "CALL_ID", "MENU_PATH", "PHONE_NUMBER", "LANGUAGE", "TIMESTAMP"):
        assert name in problems


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "../etc/passwd", "UTC+2"])
def test_an_unknown_timezone_is_an_error(zone):
    problems = " ".join(errors_of({"record_creation": {"timezone": zone}})["record_creation.timezone"])
    assert "time zone" in problems


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/Los_Angeles", "Asia/Kolkata"])
def test_iana_timezones_are_accepted(zone):
    assert load_settings({"record_creation": {"timezone": zone}}, environ={}).record_creation.timezone == zone


@pytest.mark.parametrize(
    "raw, key",
    [
        ({"crm": "zendesk"}, "crm"),
        ({"session_types": "Voice Video"}, "session_types"),
        ({"crm": {"plugin": "local", "local": "records.db"}}, "crm.local"),
        ({"store": "sqlite:///crmhub.db"}, "store"),
        ({"record_creation": 5}, "record_creation"),
        ({"session_types": {"Video": "call"}}, 'session_types."Video"'),
    ],
)
def test_a_section_that_is_not_a_table_is_a_settings_error(raw, key):
    assert key in errors_of(raw)


# --- the CRM plugin's section ---------------------------------------------------------------------


def test_the_plugin_section_is_validated_by_the_plugin_schema(local_schema_lookup):
    errors = errors_of(
        {"crm": {"plugin": "local", "local": {"path": 42, "colour": "blue"}}}, plugin_schema=local_schema_lookup
    )
    assert set(errors) == {"crm.local.path", "crm.local.colour"}


def test_the_plugin_schema_fills_its_defaults(local_schema_lookup):
    settings = load_settings({"crm": {"plugin": "local"}}, plugin_schema=local_schema_lookup, environ={})
    assert settings.crm_settings == {"path": "crmhub-records.db"}


def test_an_unknown_crm_plugin_is_an_error_naming_it(local_schema_lookup):
    problems = errors_of({"crm": {"plugin": "nosuchcrm"}}, plugin_schema=local_schema_lookup)["crm.plugin"]
    assert "nosuchcrm" in " ".join(problems)


def test_only_the_selected_crm_section_is_validated(local_schema_lookup):
    settings = load_settings(
        {"crm": {"plugin": "local", "local": {}, "zendesk": {"subdomain": 5}}},
        plugin_schema=local_schema_lookup,
        environ={},
    )
    assert settings.crm == "local"


@pytest.mark.parametrize("plugin", ["", 5])
def test_a_crm_plugin_that_is_not_a_name_is_an_error(plugin):
    assert "crm.plugin" in errors_of({"crm": {"plugin": plugin}})


# --- relative paths -------------------------------------------------------------------------------


def test_relative_paths_resolve_against_the_settings_files_folder(tmp_path, monkeypatch, local_schema_lookup):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    path = write(
        tmp_path / "conf",
        '[crm]\nplugin = "local"\n[crm.local]\npath = "data/records.db"\n[store]\nurl = "sqlite:///state/crmhub.db"\n',
    )
    settings = load_settings(path, plugin_schema=local_schema_lookup, environ={})
    folder = (tmp_path / "conf").resolve()
    assert settings.config_dir == folder
    assert settings.store_url == f"sqlite:///{folder / 'state' / 'crmhub.db'}"
    client = load_plugins(environ={"CRMHUB_LOAD_PLUGINS": "builtin,local"}).hooks.for_crm("local").client(
        settings.crm_settings, settings.config_dir
    )
    assert client.path == folder / "data" / "records.db"


def test_relative_paths_of_a_mapping_resolve_against_the_current_folder(tmp_path, monkeypatch, local_schema_lookup):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(
        {"crm": {"plugin": "local", "local": {"path": "records.db"}}, "store": {"url": "sqlite:///state.db"}},
        plugin_schema=local_schema_lookup,
        environ={},
    )
    here = tmp_path.resolve()
    assert settings.config_dir == here
    assert settings.store_url == f"sqlite:///{here / 'state.db'}"
    client = load_plugins(environ={"CRMHUB_LOAD_PLUGINS": "builtin,local"}).hooks.for_crm("local").client(
        settings.crm_settings, settings.config_dir
    )
    assert client.path == here / "records.db"


def test_the_default_store_file_is_next_to_the_settings_file(tmp_path):
    settings = load_settings(write(tmp_path, ""), environ={})
    assert settings.store_url == f"sqlite:///{tmp_path.resolve() / 'crmhub.db'}"


def test_absolute_and_memory_store_urls_are_kept(tmp_path):
    absolute = f"sqlite:///{tmp_path / 'abs.db'}"
    assert load_settings({"store": {"url": absolute}}, environ={}).store_url == absolute
    assert load_settings({"store": {"url": "sqlite:///:memory:"}}, environ={}).store_url == "sqlite:///:memory:"


# --- contradictory combinations -------------------------------------------------------------------


def test_rules_3_and_5_together_are_accepted_with_a_warning_saying_what_happens():
    settings = load_settings(
        {"record_creation": {"delay_call_until_connected": True, "create_for_abandoned_calls": True}}, environ={}
    )
    assert len(settings.warnings) == 1
    warning = settings.warnings[0]
    assert "delay_call_until_connected" in warning and "create_for_abandoned_calls" in warning
    assert "abandoned calls get none" in warning


def test_rule_2_without_rule_1_is_accepted_with_a_warning():
    settings = load_settings({"record_creation": {"append_to_closed_within_days": 3}}, environ={})
    assert len(settings.warnings) == 1
    assert "append_to_closed_within_days" in settings.warnings[0]
    assert "append_to_open_record" in settings.warnings[0]


def test_consistent_settings_have_no_warning():
    settings = load_settings(
        {
            "record_creation": {
                "append_to_open_record": True,
                "append_to_closed_within_days": 3,
                "delay_call_until_connected": True,
            }
        },
        environ={},
    )
    assert settings.warnings == ()


# --- [session_types."NAME"] -----------------------------------------------------------------------


def test_integrator_session_types_are_loaded_from_their_tables(tmp_path):
    path = write(
        tmp_path,
        '[session_types."Video Inbound (Web)"]\nchannel = "call"\nlabel = "Video Call"\n'
        '[session_types."Video Inbound (Web)".tags]\nzendesk = "video_web"\n'
        '[session_types."Messaging (Telegram)"]\nchannel = "chat"\nlabel = "Telegram"\n',
    )
    settings = load_settings(path, environ={})
    assert settings.session_types == {
        "Video Inbound (Web)": {"channel": "call", "label": "Video Call", "tags": {"zendesk": "video_web"}},
        "Messaging (Telegram)": {"channel": "chat", "label": "Telegram", "tags": {}},
    }
    catalogue = SessionTypeCatalogue(settings.session_types)
    assert catalogue.label("Video Inbound (Web)") == "Video Call"
    assert catalogue.get("Messaging (Telegram)").channel == "chat"


@pytest.mark.parametrize(
    "entry, key",
    [
        ({"label": "Video Call"}, 'session_types."Video".channel'),
        ({"channel": "call"}, 'session_types."Video".label'),
        ({"channel": "fax", "label": "Fax"}, 'session_types."Video".channel'),
        ({"channel": "call", "label": "Video", "colour": "red"}, 'session_types."Video".colour'),
        ({"channel": "call", "label": "Video", "tags": {"zendesk": 5}}, 'session_types."Video".tags'),
    ],
)
def test_a_bad_session_type_table_is_an_error_under_its_name(entry, key):
    errors = errors_of({"session_types": {"Video": entry}})
    assert any(found.startswith(key) for found in errors), errors
