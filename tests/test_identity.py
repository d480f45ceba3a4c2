"""Which sessions belong to the same end user (SPEC sections 3 and 6)."""

from __future__ import annotations

import pytest

from crmhub.core.identity import end_user_key, normalise_phone
from crmhub.core.models import EndUser


@pytest.mark.parametrize(
    "number, region, expected",
    [
        ("+14155550100", None, "+14155550100"),
        ("+1 (415) 555-0100", None, "+14155550100"),
        ("+1.415.555.0100", None, "+14155550100"),
        ("tel:+1-415-555-0100", None, "+14155550100"),
        ("(415) 555-0100", "US", "+14155550100"),
        ("415 555 0100", "US", "+14155550100"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("+44 (0)20 7946 0958", None, "+442079460958"),
        ("00 1 415 555 0100", "DE", "+14155550100"),
        ("+33 1 23 45 67 89", "US", "+33123456789"),
        ("+14155550100", "GB", "+14155550100"),
    ],
)
def test_phone_numbers_are_normalised_to_e164(number, region, expected):
    assert normalise_phone(number, region) == expected


def test_the_same_number_written_differently_is_the_same_end_user():
    written = ["+1 415 555 0100", "+1 (415) 555-0100", "+14155550100", "tel:+1-415-555-0100"]
    assert {end_user_key(EndUser(phone=number)) for number in written} == {"phone:+14155550100"}


def test_a_national_number_matches_its_e164_form_with_the_default_region():
    assert end_user_key(EndUser(phone="(415) 555-0100"), "US") == end_user_key(EndUser(phone="+14155550100"))


def test_different_numbers_are_different_end_users():
    assert end_user_key(EndUser(phone="+14155550100")) != end_user_key(EndUser(phone="+14155550101"))


@pytest.mark.parametrize("email", ["ADA@Example.COM", "ada@example.com", " Ada@EXAMPLE.com "])
def test_email_is_compared_case_insensitively(email):
    assert end_user_key(EndUser(email=email)) == "email:ada@example.com"


def test_the_id_wins_over_phone_and_email():
    assert end_user_key(EndUser(id="u-7", phone="+14155550100", email="ada@example.com")) == "id:u-7"
    assert end_user_key(EndUser(id="u-7")) == end_user_key(EndUser(id="u-7", phone="+14155550199"))
    assert end_user_key(EndUser(id="u-7", phone="+1 415 555 0100")) != end_user_key(EndUser(phone="+14155550100"))


def test_the_phone_wins_over_the_email():
    assert end_user_key(EndUser(phone="+14155550100", email="ada@example.com")) == "phone:+14155550100"
    assert end_user_key(EndUser(phone="+14155550100", email="other@example.com")) == end_user_key(
        EndUser(phone="+1 415 555 0100", email="ada@example.com")
    )


def test_ids_are_compared_exactly():
    assert end_user_key(EndUser(id="U-7")) != end_user_key(EndUser(id="u-7"))


@pytest.mark.parametrize(
    "end_user",
    [None, EndUser(), EndUser(name="Ada L."), EndUser(id="", phone="", email="")],
)
def test_anonymous_sessions_have_no_key(end_user):
    assert end_user_key(end_user) is None
    if end_user is not None:
        assert end_user.is_anonymous


def test_empty_fields_fall_through_to_the_next_one():
    assert end_user_key(EndUser(id="", phone="", email="Ada@Example.com")) == "email:ada@example.com"
    assert end_user_key(EndUser(id="", phone="+14155550100")) == "phone:+14155550100"
