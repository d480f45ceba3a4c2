"""The standard connector suite, over recorded Salesforce REST exchanges (fixtures/suite)."""

from pathlib import Path

import crmhub_salesforce.plugin
from crmhub.testing import ConnectorSuite


class TestSalesforceConnector(ConnectorSuite):
    plugin = crmhub_salesforce.plugin
    settings = {
        "client_id": "test-client-id",
        "client_secret": "test-client-secret",
        "login_url": "https://acme.my.salesforce.com",
        "person_external_id_field": "Crmhub_End_User_Id__c",
    }
    fixtures_dir = Path(__file__).parent / "fixtures" / "suite"
    raw_tags = ["Voice Inbound (IVR)", "UJET"]
    expected_tags = ["Voice Inbound (IVR)", "UJET"]
    open_record_id = "500Hu00000Crm01AAA"
    closed_record_id = "500Hu00000Crm02AAA"
    missing_record_id = "500Hu00000Gone9AAA"
    open_record_crm_status = "Working"
    closed_record_crm_status = "Closed"
    check_ok_fixture = "../check/all_ok.json"
    check_bad_credentials_fixture = "../check/bad_credentials.json"
    check_settings = {  # the fields and owners the check fixtures read
        "upsert_field": "Crmhub_Session_Id__c",
        "queue_owners": {"q-42": "00GHu000003Rfnd1AA", "q-43": "00GHu000003Rfnd1AA", "q-77": "005Hu00000Agent1AAA"},
    }
    # The OAuth 2.0 token request is a POST (RFC 6749) that writes nothing in the org: checking
    # the credentials means asking for a token.
    check_read_only_post_urls = ("https://acme.my.salesforce.com/services/oauth2/token",)
