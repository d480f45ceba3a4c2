"""The ``[crm.freshdesk]`` section: defaults, the base URL, and errors that name their key."""

from __future__ import annotations

from typing import Any

import pytest
from marshmallow import ValidationError

from crmhub.core.errors import SettingsError
from crmhub.core.settings import load_settings
from crmhub_freshdesk.plugin import crm_client
from crmhub_freshdesk.settings import FreshdeskSettings, FreshdeskSettingsSchema


def load(**section: Any) -> FreshdeskSettings:
    return FreshdeskSettings.from_loaded(FreshdeskSettingsSchema().load({"api_key": "test-api-key", **section}))


def test_defaults() -> None:
    settings = load(domain="acme")
    assert settings.base_url == settings.portal_url == "https://acme.freshdesk.com"
    assert settings.timeout_seconds == 10.0 and settings.priority == 1
    assert (settings.lookback_days, settings.max_pages) == (365, 5)
    assert settings.use_unique_external_id is True
    assert settings.groups == {} and settings.queue_field is None and settings.session_field is None
    assert settings.anonymous_requester_email is None and settings.default_phone_region is None


def test_a_host_name_and_a_base_url_override() -> None:
    assert load(domain="acme.freshdesk.com").base_url == "https://acme.freshdesk.com"
    overridden = load(domain="acme", base_url="http://127.0.0.1:8080/")
    assert overridden.base_url == "http://127.0.0.1:8080"
    assert overridden.portal_url == "https://acme.freshdesk.com"  # ticket links still point at the helpdesk
    assert load(base_url="http://127.0.0.1:8080").portal_url == "http://127.0.0.1:8080"


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({}, "domain"),
        ({"domain": "acme", "api_key": ""}, "api_key"),
        ({"domain": "https://acme.freshdesk.com"}, "domain"),
        ({"base_url": "acme.freshdesk.com"}, "base_url"),
        ({"domain": "acme", "priority": 5}, "priority"),
        ({"domain": "acme", "groups": {"q-42": "support"}}, "groups"),
        ({"domain": "acme", "queue_field": "crmhub_queue"}, "queue_field"),
        ({"domain": "acme", "default_phone_region": "XX"}, "default_phone_region"),
        ({"domain": "acme", "anonymous_requester_email": "nobody"}, "anonymous_requester_email"),
        ({"domain": "acme", "max_pages": 301}, "max_pages"),
        ({"domain": "acme", "subdomain": "acme"}, "subdomain"),
    ],
)
def test_invalid_settings_name_their_key(section: dict[str, Any], key: str) -> None:
    with pytest.raises(ValidationError) as caught:
        FreshdeskSettingsSchema().load({"api_key": "test-api-key", **section})
    assert key in caught.value.messages


def test_the_api_key_comes_from_the_environment_and_stays_out_of_reprs() -> None:
    raw = {"crm": {"plugin": "freshdesk", "freshdesk": {"domain": "acme", "api_key": "env:FD_KEY"}}}
    settings = load_settings(raw, lambda crm: FreshdeskSettingsSchema(), {"FD_KEY": "s3cr3t-key-value"})
    client = crm_client(settings.crm_settings, settings.config_dir)
    assert client.settings.api_key == "s3cr3t-key-value"
    assert "s3cr3t" not in repr(client) + repr(client.settings) + repr(client.http)
    with pytest.raises(SettingsError) as caught:
        load_settings(raw, lambda crm: FreshdeskSettingsSchema(), {})
    assert "crm.freshdesk.api_key" in caught.value.errors

