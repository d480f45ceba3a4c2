"""The standard connector suite of crmhub.testing, run against the Zendesk plugin."""

from pathlib import Path

import crmhub_zendesk.plugin
from crmhub.testing import ConnectorSuite


class TestZendeskConnector(ConnectorSuite):
    plugin = crmhub_zendesk.plugin
    settings = {"subdomain": "acme", "email": "agent@example.com", "api_token": "test-token"}
    fixtures_dir = Path(__file__).parent / "fixtures" / "suite"
    raw_tags = ["Voice Inbound (IVR)", "UJET"]
    expected_tags = ["voice_inbound_ivr", "ujet"]
    closed_record_crm_status = "solved"
    check_ok_fixture = "../check/all_ok.json"
    check_bad_credentials_fixture = "../check/bad_credentials.json"
    check_settings = {  # the fields and groups the check fixtures read
        "session_id_field": 360000101,
        "leaf_queue_field": 360000102,
        "queue_groups": {"q-42": 360000042, "q-43": 360000042, "q-77": 360000077},
    }
