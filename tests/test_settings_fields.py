"""The settings keys every HTTP CRM plugin shares: one meaning in every ``[crm.NAME]`` section."""

from __future__ import annotations

import pytest
from marshmallow import Schema, ValidationError

from crmhub import settings_fields


class Section(Schema):
    base_url = settings_fields.base_url("the vendor's address")
    timeout_seconds = settings_fields.timeout_seconds()
    default_phone_region = settings_fields.default_phone_region()


def test_the_defaults() -> None:
    assert Section().load({}) == {"base_url": None, "timeout_seconds": 10.0, "default_phone_region": None}


def test_a_plugin_may_give_its_own_defaults() -> None:
    class Custom(Schema):
        base_url = settings_fields.base_url("x", load_default="https://api.example.invalid")
        timeout_seconds = settings_fields.timeout_seconds(30)

    assert Custom().load({}) == {"base_url": "https://api.example.invalid", "timeout_seconds": 30}


def test_a_region_is_read_in_upper_case() -> None:
    assert Section().load({"default_phone_region": "gb"})["default_phone_region"] == "GB"


@pytest.mark.parametrize(
    "section, key",
    [
        ({"default_phone_region": "XX"}, "default_phone_region"),
        ({"default_phone_region": "USA"}, "default_phone_region"),
        ({"default_phone_region": 1}, "default_phone_region"),
        ({"timeout_seconds": 0}, "timeout_seconds"),
        ({"timeout_seconds": -1.5}, "timeout_seconds"),
        ({"base_url": "acme.example.com"}, "base_url"),
        ({"base_url": "ftp://127.0.0.1"}, "base_url"),
    ],
)
def test_bad_values_are_refused_under_their_key(section: dict, key: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Section().load(section)
    assert list(raised.value.messages) == [key]


def test_an_api_secret_is_required_non_empty_and_marked_secret() -> None:
    class Credentials(Schema):
        api_key = settings_fields.api_secret("The key.")

    assert Credentials().load({"api_key": "k"}) == {"api_key": "k"}
    assert Credentials().fields["api_key"].metadata == {"description": "The key.", "secret": True}
    for section in ({}, {"api_key": ""}):
        with pytest.raises(ValidationError) as raised:
            Credentials().load(section)
        assert list(raised.value.messages) == ["api_key"]


def test_local_addresses_are_accepted_for_test_servers() -> None:
    assert Section().load({"base_url": "http://127.0.0.1:8080"})["base_url"] == "http://127.0.0.1:8080"


def test_every_field_is_described_for_config_init() -> None:
    for name, field in Section().fields.items():
        assert field.metadata.get("description"), name
