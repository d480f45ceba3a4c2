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
