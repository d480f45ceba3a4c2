"""The standard connector suite (crmhub.testing.ConnectorSuite) against recorded Freshdesk exchanges."""

from __future__ import annotations

from pathlib import Path

import crmhub_freshdesk.plugin
from crmhub.testing import ConnectorSuite

FIXTURES = Path(__file__).parent / "fixtures" / "suite"


class TestFreshdeskConnector(ConnectorSuite):
    plugin = crmhub_freshdesk.plugin
    settings = {
        "domain": "acme",
        "api_key": "test-api-key",
        "anonymous_requester_email": "anonymous@example.com",
        "groups": {"q-42": 43000012345},
    }
    fixtures_dir = FIXTURES
    raw_tags = ["Voice Inbound (IVR)", "UJET"]
    expected_tags = ["Voice Inbound (IVR)", "UJET"]
    open_record_crm_status = "open"
    closed_record_crm_status = "closed"
    check_ok_fixture = "../check/all_ok.json"
    check_bad_credentials_fixture = "../check/bad_credentials.json"
    check_settings = {  # the fields and groups the check fixtures read
        "queue_field": "cf_crmhub_queue",
        "session_field": "cf_crmhub_session",
        "groups": {"q-42": 43000012345, "q-43": 43000012345, "q-77": 43000012346},
    }
