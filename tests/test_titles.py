"""Record title templates (SPEC section 4)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from crmhub.core.titles import DEFAULT_TITLE, TemplateError, TitleTemplate, TitleValues

SPEC_VARIABLES = ("CALL_TYPE", "CALL_ID", "MENU_PATH", "PHONE_NUMBER", "LANGUAGE", "TIMESTAMP")
STARTED = datetime(2026, 11, 25, 9, 29, 40, tzinfo=timezone.utc)
FULL = TitleValues(
    call_type="IVR Call",
    call_id="call-1001",
    menu_path="Billing/Refunds",
    phone_number="+18005550199",
    language="en",
    started_at=STARTED,
)


def render(template: str, values: TitleValues = FULL, **kwargs: str) -> str:
    return TitleTemplate(template).render(values, **kwargs)


def test_the_default_title_is_call_type_and_call_id():
    assert DEFAULT_TITLE == "{CALL_TYPE} {CALL_ID}"
    assert render(DEFAULT_TITLE) == "IVR Call call-1001"


@pytest.mark.parametrize(
    "variable, expected",
    [
        ("CALL_TYPE", "IVR Call"),
        ("CALL_ID", "call-1001"),
        ("MENU_PATH", "Billing/Refunds"),
        ("PHONE_NUMBER", "+18005550199"),
        ("LANGUAGE", "en"),
        ("TIMESTAMP", "2026-11-25 09:29 UTC"),
    ],
)
def test_each_variable_renders_its_value(variable, expected):
    assert render("{" + variable + "}") == expected


def test_all_six_variables_in_one_template():
    template = TitleTemplate("{CALL_TYPE} | {CALL_ID} | {MENU_PATH} | {PHONE_NUMBER} | {LANGUAGE} | {TIMESTAMP}")
    assert set(template.variables) == set(SPEC_VARIABLES)
    assert template.render(FULL) == "IVR Call | call-1001 | Billing/Refunds | +18005550199 | en | 2026-11-25 09:29 UTC"


ALL = "{CALL_TYPE} {CALL_ID} {MENU_PATH} {PHONE_NUMBER} {LANGUAGE} {TIMESTAMP}"


@pytest.mark.parametrize(
    "missing, expected",
    [
        ("call_type", "call-1001 Billing/Refunds +18005550199 en 2026-11-25 09:29 UTC"),
        ("call_id", "IVR Call Billing/Refunds +18005550199 en 2026-11-25 09:29 UTC"),
        ("menu_path", "IVR Call call-1001 +18005550199 en 2026-11-25 09:29 UTC"),
        ("phone_number", "IVR Call call-1001 Billing/Refunds en 2026-11-25 09:29 UTC"),
        ("language", "IVR Call call-1001 Billing/Refunds +18005550199 2026-11-25 09:29 UTC"),
        ("started_at", "IVR Call call-1001 Billing/Refunds +18005550199 en"),
    ],
)
def test_a_variable_with_no_value_renders_empty_and_whitespace_collapses(missing, expected):
    assert render(ALL, replace(FULL, **{missing: None})) == expected


@pytest.mark.parametrize("empty", ["", "   "])
def test_an_empty_value_renders_like_a_missing_one(empty):
    assert render("{CALL_TYPE} {LANGUAGE} {CALL_ID}", replace(FULL, language=empty)) == "IVR Call call-1001"


def test_no_values_at_all_render_an_empty_title():
    assert render("  {CALL_TYPE}   {CALL_ID}  ", TitleValues()) == ""


def test_separators_written_in_the_template_stay():
    values = TitleValues(call_type="Web Chat", call_id="chat-9")
    assert render("{CALL_TYPE} - {MENU_PATH} - {CALL_ID}", values) == "Web Chat - - chat-9"
    assert render("[{LANGUAGE}] {CALL_ID}", values) == "[] chat-9"


def test_runs_of_whitespace_in_the_template_and_values_collapse_and_ends_are_trimmed():
    values = TitleValues(call_type="  IVR \t Call ", call_id="c-1\n")
    assert render("\t{CALL_TYPE}    {CALL_ID}   ", values) == "IVR Call c-1"


def test_double_braces_are_literal_braces():
    assert render("{{{CALL_ID}}}") == "{call-1001}"
    assert render("{{CALL_ID}}") == "{CALL_ID}"
    assert render("a }} b {{ c") == "a } b { c"


def test_a_value_containing_braces_is_not_parsed_again():
    assert render("{CALL_ID}", TitleValues(call_id="{LANGUAGE}")) == "{LANGUAGE}"


@pytest.mark.parametrize("template", ["{CALLER}", "{call_id}", "{CALL_TYPE} {TIMESTAMP_UTC}", "{}"])
def test_an_unknown_variable_is_an_error_listing_the_valid_names(template):
    with pytest.raises(TemplateError) as caught:
        TitleTemplate(template)
    message = str(caught.value)
    assert "unknown variable" in message
    for name in SPEC_VARIABLES:
        assert name in message


@pytest.mark.parametrize("template", ["{CALL_ID", "CALL_ID}", "{CALL_TYPE}} {CALL_ID}", "{{CALL_ID}", "{CALL_{ID}"])
def test_an_unbalanced_brace_is_an_error_listing_the_valid_names(template):
    with pytest.raises(TemplateError) as caught:
        TitleTemplate(template)
    message = str(caught.value)
    assert "unbalanced" in message
    for name in SPEC_VARIABLES:
        assert name in message


def test_timestamp_uses_the_timezone_and_format():
    assert render("{TIMESTAMP}", timezone="Europe/Berlin") == "2026-11-25 10:29 CET"
    assert render("{TIMESTAMP}", timezone="America/New_York", timestamp_format="%d/%m/%Y %I:%M %p") == "25/11/2026 04:29 AM"
    assert render("{TIMESTAMP}", timezone="Asia/Kolkata", timestamp_format="%H:%M %z") == "14:59 +0530"


def test_timestamp_converts_from_any_offset_the_host_sent():
    started = datetime(2026, 7, 1, 12, 0, tzinfo=timezone(timedelta(hours=-7)))
    values = TitleValues(started_at=started)
    assert render("{TIMESTAMP}", values) == "2026-07-01 19:00 UTC"
    assert render("{TIMESTAMP}", values, timezone="Europe/Berlin") == "2026-07-01 21:00 CEST"


def test_timestamp_defaults_to_utc_with_the_spec_format():
    assert render("{TIMESTAMP}") == "2026-11-25 09:29 UTC"
