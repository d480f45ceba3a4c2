"""The ``[crm.zendesk]`` section: defaults, the base URL override, errors that name their key,
and fixtures free of credentials."""

from __future__ import annotations

from pathlib import Path

import pytest
from marshmallow import ValidationError

from crmhub.core.errors import SettingsError
from crmhub.core.settings import load_settings
from crmhub.testing import scan_for_credentials
from crmhub_zendesk.client import ZendeskClient
from crmhub_zendesk.settings import ZendeskSettings, ZendeskSettingsSchema

FIXTURES = Path(__file__).parent / "fixtures"
MINIMAL = {"subdomain": "acme", "email": "agent@example.com", "api_token": "test-token"}


def test_defaults() -> None:
    settings = ZendeskSettings.from_mapping(ZendeskSettingsSchema().load(MINIMAL))
    assert settings.root_url == "https://acme.zendesk.com"
    assert (settings.timeout_seconds, settings.max_updates_per_ticket, settings.update_window_seconds) == (10.0, 30, 600.0)
    assert (settings.max_ticket_pages, settings.user_cache_seconds, settings.queue_groups) == (10, 60.0, {})


def test_base_url_overrides_the_subdomain() -> None:
    loaded = ZendeskSettingsSchema().load({**MINIMAL, "base_url": "http://127.0.0.1:8080/"})
    client = ZendeskClient(ZendeskSettings.from_mapping(loaded))
    assert client.api_url == "http://127.0.0.1:8080/api/v2"
    assert client.agent_url(5) == "http://127.0.0.1:8080/agent/tickets/5"


def test_base_url_alone_is_enough() -> None:
    loaded = ZendeskSettingsSchema().load({"base_url": "https://support.example.com", "email": "a@example.com", "api_token": "t"})
    assert ZendeskSettings.from_mapping(loaded).root_url == "https://support.example.com"


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({"email": "agent@example.com", "api_token": "t"}, "subdomain"),
        ({**MINIMAL, "email": "not-an-email"}, "email"),
        ({**MINIMAL, "api_token": ""}, "api_token"),
        ({**MINIMAL, "timeout_seconds": 0}, "timeout_seconds"),
        ({**MINIMAL, "queue_groups": {"q-42": "sales"}}, "queue_groups"),
        ({**MINIMAL, "default_phone_region": "usa"}, "default_phone_region"),
        ({**MINIMAL, "subdomian": "acme"}, "subdomian"),
    ],
)
def test_each_problem_names_its_key(section: dict, key: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ZendeskSettingsSchema().load(section)
    assert key in caught.value.messages


def test_the_token_comes_from_the_environment_and_a_missing_variable_is_named() -> None:
    raw = {"crm": {"plugin": "zendesk", "zendesk": {**MINIMAL, "api_token": "env:ZENDESK_API_TOKEN"}}}
    loaded = load_settings(raw, lambda crm: ZendeskSettingsSchema(), {"ZENDESK_API_TOKEN": "from-env"})
    assert loaded.crm_settings["api_token"] == "from-env"
    with pytest.raises(SettingsError, match="ZENDESK_API_TOKEN"):
        load_settings(raw, lambda crm: ZendeskSettingsSchema(), {})


def test_no_fixture_holds_a_credential() -> None:
    files = sorted(FIXTURES.rglob("*.json"))
    assert len(files) >= 21
    assert scan_for_credentials(files) == []
