"""Session types and their tag forms per CRM (SPEC section 5)."""

from __future__ import annotations

import logging

import pytest

from crmhub import builtin
from crmhub.core.dispatcher import Dispatcher
from crmhub.core.models import Session
from crmhub.core.session_types import SessionTypeCatalogue
from crmhub.core.settings import RecordCreationSettings, load_settings
from crmhub.core.tags import freshdesk_tag, kustomer_tag, unique, zendesk_tag
from crmhub.local_records import LocalRecords
from crmhub.plugins import load_plugins

# Every name of SPEC section 5, with its channel and the tag forms its rules give:
# Zendesk lower case with runs of other characters as one "_"; Kustomer a trailing parenthesis as
# " - " and its content; Freshdesk unchanged.
SESSION_TYPES = [
    # name, channel, zendesk, kustomer
    ("Voice Inbound (IVR)", "call", "voice_inbound_ivr", "Voice Inbound - IVR"),
    ("Voice Inbound (IVR via Mobile)", "call", "voice_inbound_ivr_via_mobile", "Voice Inbound - IVR via Mobile"),
    ("Voice Inbound (Mobile)", "call", "voice_inbound_mobile", "Voice Inbound - Mobile"),
    ("Voice Callback (Web)", "call", "voice_callback_web", "Voice Callback - Web"),
    ("Voice Inbound (API)", "call", "voice_inbound_api", "Voice Inbound - API"),
    ("Voice Scheduled (Mobile)", "call", "voice_scheduled_mobile", "Voice Scheduled - Mobile"),
    ("Voice Scheduled (Web)", "call", "voice_scheduled_web", "Voice Scheduled - Web"),
    ("Voice Outbound", "call", "voice_outbound", "Voice Outbound"),
    ("Voice Outbound (API)", "call", "voice_outbound_api", "Voice Outbound - API"),
    ("Voice Scheduled (API)", "call", "voice_scheduled_api", "Voice Scheduled - API"),
    ("Voice Internal", "call", "voice_internal", "Voice Internal"),
    ("Voice Inbound (Direct)", "call", "voice_inbound_direct", "Voice Inbound - Direct"),
    ("Voice Outbound (Direct)", "call", "voice_outbound_direct", "Voice Outbound - Direct"),
    ("Voice Outbound (UCaaS)", "call", "voice_outbound_ucaas", "Voice Outbound - UCaaS"),
    ("Voice Inbound (Extension)", "call", "voice_inbound_extension", "Voice Inbound - Extension"),
    ("Messaging Inbound (Mobile Chat)", "chat", "messaging_inbound_mobile_chat", "Messaging Inbound - Mobile Chat"),
    ("Messaging Inbound (Web Chat)", "chat", "messaging_inbound_web_chat", "Messaging Inbound - Web Chat"),
    ("Messaging Inbound (SMS)", "chat", "messaging_inbound_sms", "Messaging Inbound - SMS"),
    ("Messaging Outbound (SMS)", "chat", "messaging_outbound_sms", "Messaging Outbound - SMS"),
    ("Messaging Outbound (SMS via API)", "chat", "messaging_outbound_sms_via_api", "Messaging Outbound - SMS via API"),
    ("Messaging Inbound (SMS Direct)", "chat", "messaging_inbound_sms_direct", "Messaging Inbound - SMS Direct"),
    ("Messaging Outbound (SMS Direct)", "chat", "messaging_outbound_sms_direct", "Messaging Outbound - SMS Direct"),
    (
        "Messaging Outbound (SMS Direct via API)", "chat",
        "messaging_outbound_sms_direct_via_api", "Messaging Outbound - SMS Direct via API",
    ),
    ("Messaging (WhatsApp)", "chat", "messaging_whatsapp", "Messaging - WhatsApp"),
    # older names still sent by some hosts
    ("Voice Inbound (App)", "call", "voice_inbound_app", "Voice Inbound - App"),
    ("Voice Inbound (Web)", "call", "voice_inbound_web", "Voice Inbound - Web"),
    ("Voice Scheduled (App)", "call", "voice_scheduled_app", "Voice Scheduled - App"),
    ("Messaging Inbound (App Chat)", "chat", "messaging_inbound_app_chat", "Messaging Inbound - App Chat"),
    ("Messaging (SMS)", "chat", "messaging_sms", "Messaging - SMS"),
]
NAMES = [entry[0] for entry in SESSION_TYPES]

# SPEC section 5's title-label list, written as the SPEC groups it: label -> display names.
SPEC_LABELS = {
    "IVR Call": ["Voice Inbound (IVR)", "Voice Inbound (IVR via Mobile)"],
    "Inbound Call (App)": ["Voice Inbound (Mobile)", "Voice Inbound (App)"],
    "Inbound Call (Web)": ["Voice Inbound (Web)", "Voice Callback (Web)"],
    "Scheduled Voice (App)": ["Voice Scheduled (Mobile)", "Voice Scheduled (App)"],
    "Scheduled Call (Web)": ["Voice Scheduled (Web)"],
    "Outbound Call": ["Voice Outbound", "Voice Outbound (API)", "Voice Outbound (Direct)", "Voice Outbound (UCaaS)"],
    "Inbound Call (API)": ["Voice Inbound (API)"],
    "Scheduled Call (API)": ["Voice Scheduled (API)"],
    "Internal Call": ["Voice Internal"],
    "Inbound Call (Direct)": ["Voice Inbound (Direct)"],
    "Inbound Call (Extension)": ["Voice Inbound (Extension)"],
    "App Chat": ["Messaging Inbound (Mobile Chat)", "Messaging Inbound (App Chat)"],
    "Web Chat": ["Messaging Inbound (Web Chat)"],
    "SMS": ["Messaging Inbound (SMS)", "Messaging Inbound (SMS Direct)", "Messaging (SMS)"],
    "Outbound SMS": [
        "Messaging Outbound (SMS)",
        "Messaging Outbound (SMS via API)",
        "Messaging Outbound (SMS Direct)",
        "Messaging Outbound (SMS Direct via API)",
    ],
    "WhatsApp": ["Messaging (WhatsApp)"],
}
LABEL_OF = [(name, label) for label, names in SPEC_LABELS.items() for name in names]
UNKNOWN = "Video Inbound (Beta)"


def test_the_spec_label_list_covers_exactly_the_spec_names():
    assert sorted(name for name, _ in LABEL_OF) == sorted(NAMES)
    assert len(NAMES) == len(set(NAMES)) == 29


def test_the_catalogue_holds_every_spec_name_and_no_other():
    assert sorted(SessionTypeCatalogue().names()) == sorted(NAMES)


@pytest.mark.parametrize("name, label", LABEL_OF)
def test_title_label(name, label):
    catalogue = SessionTypeCatalogue()
    assert catalogue.label(name) == label
    assert catalogue.get(name).known


@pytest.mark.parametrize("name, channel", [(entry[0], entry[1]) for entry in SESSION_TYPES])
def test_channel(name, channel):
    assert SessionTypeCatalogue().get(name).channel == channel


@pytest.mark.parametrize("name, zendesk, kustomer", [(e[0], e[2], e[3]) for e in SESSION_TYPES])
def test_tag_forms_per_crm(name, zendesk, kustomer):
    assert zendesk_tag(name) == zendesk
    assert kustomer_tag(name) == kustomer
    assert freshdesk_tag(name) == name


def test_the_platform_tag_follows_each_crm_rule():
    assert zendesk_tag("UJET") == "ujet"
    assert kustomer_tag("UJET") == "UJET"
    assert freshdesk_tag("UJET") == "UJET"


def test_zendesk_turns_each_run_of_other_characters_into_one_underscore_and_trims():
    assert zendesk_tag("  Voice -- Inbound!! (IVR) ") == "voice_inbound_ivr"
    assert zendesk_tag("Acme/Platform 2") == "acme_platform_2"


def test_kustomer_changes_only_a_trailing_parenthesis():
    assert kustomer_tag("Voice (Beta) Inbound") == "Voice (Beta) Inbound"
    assert kustomer_tag("Messaging (SMS) (Direct)") == "Messaging (SMS) - Direct"


def test_unique_drops_empty_and_repeated_tags_keeping_first_positions():
    assert unique(["b", "", "a", "b", "c", "a"]) == ["b", "a", "c"]


# --- unknown names --------------------------------------------------------------------------------


def test_an_unknown_name_is_accepted_with_its_own_label():
    entry = SessionTypeCatalogue().get(UNKNOWN)
    assert entry.known is False
    assert entry.label == UNKNOWN
    assert entry.channel is None
    assert entry.tags == {}


def test_an_unknown_name_is_warned_about_once(caplog):
    catalogue = SessionTypeCatalogue()
    with caplog.at_level(logging.WARNING, logger="crmhub.core.session_types"):
        for _ in range(3):
            catalogue.get(UNKNOWN)
            catalogue.label(UNKNOWN)
        catalogue.label("Video Outbound")
        catalogue.label("Voice Inbound (IVR)")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len([w for w in warnings if UNKNOWN in w]) == 1
    assert len([w for w in warnings if "Video Outbound" in w]) == 1
    assert len(warnings) == 2


def test_an_unknown_name_gets_the_generic_tag_rule():
    assert zendesk_tag(UNKNOWN) == "video_inbound_beta"
    assert kustomer_tag(UNKNOWN) == "Video Inbound - Beta"
    assert freshdesk_tag(UNKNOWN) == UNKNOWN


# --- integrator additions -------------------------------------------------------------------------


def test_integrator_additions_from_settings_join_the_catalogue(caplog):
    settings = load_settings(
        {
            "session_types": {
                UNKNOWN: {"channel": "call", "label": "Video Call", "tags": {"zendesk": "video_beta"}},
                "Voice Internal": {"channel": "call", "label": "Internal"},
            }
        },
        environ={},
    )
    catalogue = SessionTypeCatalogue(settings.session_types)
    with caplog.at_level(logging.WARNING, logger="crmhub.core.session_types"):
        added = catalogue.get(UNKNOWN)
    assert added.known and added.label == "Video Call" and added.channel == "call"
    assert added.tags == {"zendesk": "video_beta"}
    assert not caplog.records
    assert catalogue.label("Voice Internal") == "Internal"
    assert catalogue.label("Voice Inbound (IVR)") == "IVR Call"


def test_a_pinned_tag_from_settings_reaches_the_record(tmp_path):
    """End to end on the local CRM: the pinned form replaces the generic one; the rest is formatted."""
    config = {
        "crm": {"plugin": "local", "local": {"path": str(tmp_path / "records.db")}},
        "store": {"url": f"sqlite:///{tmp_path / 'state.db'}"},
        "record_creation": {"add_session_type_tag": True, "add_platform_tag": True},
        "session_types": {UNKNOWN: {"channel": "call", "label": "Video Call", "tags": {"local": "video-pinned"}}},
    }
    plugins = load_plugins(environ={"CRMHUB_LOAD_PLUGINS": "builtin,local"})
    event = {
        "id": "e1",
        "type": "session.assigned",
        "at": "2026-11-25T09:30:05Z",
        "session": {"id": "call-1", "channel": "call", "session_type": UNKNOWN, "end_user": {"id": "u-1"}},
    }
    with Dispatcher.from_config(config, plugins=plugins, environ={}) as dispatcher:
        outcome = dispatcher.handle(event)
    assert outcome.action == "created"
    (record,) = LocalRecords(tmp_path / "records.db").all()
    assert record.tags == ["video-pinned", "UJET"]
    assert record.title == "Video Call call-1"


# --- the built-in session_tags hook ---------------------------------------------------------------


@pytest.mark.parametrize(
    "type_tag, platform_tag, expected",
    [
        (False, False, []),
        (True, False, ["Voice Inbound (IVR)"]),
        (False, True, ["ACME"]),
        (True, True, ["Voice Inbound (IVR)", "ACME"]),
    ],
)
def test_builtin_tags_use_the_display_name_and_the_platform_tag(type_tag, platform_tag, expected):
    session = Session(id="c-1", channel="call", session_type="Voice Inbound (IVR)")
    settings = RecordCreationSettings(add_session_type_tag=type_tag, add_platform_tag=platform_tag, platform_tag="ACME")
    assert builtin.session_tags(session=session, settings=settings) == expected


def test_builtin_tags_skip_a_missing_session_type():
    settings = RecordCreationSettings(add_session_type_tag=True, add_platform_tag=True)
    assert builtin.session_tags(session=Session(id="c-1", channel="call"), settings=settings) == ["UJET"]
