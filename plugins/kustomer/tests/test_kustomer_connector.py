"""The standard connector suite, over fixtures built from Kustomer's API reference.

No recorded Kustomer traffic is public: every fixture is built from developer.kustomer.com's
reference pages (each names its page in ``doc`` and says so in ``provenance``).
"""

from pathlib import Path

import crmhub_kustomer.plugin
from crmhub.testing import ConnectorSuite

FIXTURES = Path(__file__).parent / "fixtures"


class TestKustomerConnector(ConnectorSuite):
    plugin = crmhub_kustomer.plugin
    settings = {
        "org_name": "acme",
        "api_key": "test-key",
        "anonymous_customer_id": "66f1c2a3b4c5d6e7f8a90000",
        "queues": {"q-42": {"queue": "65aa0b1c2d3e4f5a6b7c8d90", "team": "65aa0b1c2d3e4f5a6b7c8d91"}},
    }
    fixtures_dir = FIXTURES / "suite"
    raw_tags = ["Voice Inbound (IVR)", "UJET"]
    expected_tags = ["Voice Inbound - IVR", "UJET"]
    open_record_id = "6744a1b2c3d4e5f6a7b81001"
    closed_record_id = "6744a1b2c3d4e5f6a7b81002"
    missing_record_id = "6744a1b2c3d4e5f6a7b89999"
    open_record_crm_status = "open"
    closed_record_crm_status = "done"
    check_ok_fixture = "../check/all_ok.json"
    check_bad_credentials_fixture = "../check/bad_credentials.json"
    check_settings = {  # the customer and routing the check fixtures read
        "anonymous_customer_id": "5f3c9a0b1d2e3f4a5b6c7d8e",
        "queues": {"q-42": {"queue": "65aa0b1c2d3e4f5a6b7c8d90", "team": "65aa0b1c2d3e4f5a6b7c8d91"},
                   "q-43": {"queue": "65aa0b1c2d3e4f5a6b7c8d90"}},
    }
