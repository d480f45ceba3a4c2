"""OAuth: the client-credentials and JWT bearer flows, the one refresh on an expired session, URLs."""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt
import pytest
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import crmhub_salesforce.plugin as plugin
from crmhub.core.errors import AuthenticationError, TransientCrmError
from crmhub.testing import replay
from crmhub_salesforce.auth import JWT_BEARER_GRANT
from crmhub_salesforce.client import SalesforceClient
from crmhub_salesforce.settings import SalesforceSettingsSchema

INSTANCE = "https://acme.my.salesforce.com"
TOKEN_URL = f"{INSTANCE}/services/oauth2/token"
QUERY_URL = f"{INSTANCE}/services/data/v60.0/query"
BASE = {"client_id": "test-client-id", "client_secret": "test-client-secret", "login_url": INSTANCE}
EXPIRED = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
EMPTY = {"totalSize": 0, "done": True, "records": []}
DOC = "https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm"


def client(**settings: Any) -> SalesforceClient:
    return plugin.crm_client(SalesforceSettingsSchema().load({**BASE, **settings}), Path("."))


def token_body(value: str, instance: str = INSTANCE) -> str:
    return json.dumps({"access_token": value, "instance_url": instance, "signature": "test-signature"})


def test_several_threads_hitting_an_expired_session_cause_one_refresh():
    sf = client()
    threads = 5
    all_sent_with_old_token = threading.Barrier(threads, timeout=30)
    issued: list[str] = []
    retried_with: list[str] = []

    def issue_token(request: Any) -> tuple[int, dict[str, str], str]:
        issued.append(f"test-access-token-{len(issued) + 1}")
        return 200, {}, token_body(issued[-1])

    def answer_query(request: Any) -> tuple[int, dict[str, str], str]:
        if request.headers["Authorization"] == "Bearer test-access-token-1":
            all_sent_with_old_token.wait()  # every thread holds a 401 before any of them refreshes
            return 401, {}, json.dumps(EXPIRED)
        retried_with.append(request.headers["Authorization"])
        return 200, {"Sforce-Limit-Info": "api-usage=30/15000"}, json.dumps(EMPTY)

    with responses.RequestsMock() as mock:
        mock.add_callback("POST", TOKEN_URL, callback=issue_token)
        mock.add_callback("GET", QUERY_URL, callback=answer_query)
        assert sf.api.tokens.current().value == "test-access-token-1"
        with ThreadPoolExecutor(max_workers=threads) as pool:
            results = list(pool.map(lambda _: sf.api.query("SELECT Id FROM Case WHERE IsClosed = false", action="test"), range(threads)))
    assert issued == ["test-access-token-1", "test-access-token-2"]  # one refresh for all five
    assert results == [[]] * threads
    assert retried_with == ["Bearer test-access-token-2"] * threads
    assert sf.api.tokens.requests_made == 2


def test_a_refresh_is_not_repeated_when_the_new_token_is_refused_too():
    with replay(
        {"doc": DOC, "exchanges": [
            _token("test-access-token"),
            {"request": {"method": "GET", "url": QUERY_URL}, "response": {"status": 401, "json": EXPIRED}},
            _token("test-access-token-2"),
            {"request": {"method": "GET", "url": QUERY_URL}, "response": {"status": 401, "json": EXPIRED}},
        ]}
    ) as seen:
        with pytest.raises(AuthenticationError, match="INVALID_SESSION_ID"):
            client().find_record_for_session("call-1001")
    assert [c[4]["Authorization"] for c in seen.calls if c[1] == QUERY_URL] == [
        "Bearer test-access-token", "Bearer test-access-token-2"
    ]


def test_a_refused_token_request_is_an_authentication_error_without_the_secret():
    refused = {"error": "invalid_client", "error_description": "invalid client credentials"}
    with replay({"doc": DOC, "exchanges": [{**_token("x"), "response": {"status": 400, "json": refused}}]}):
        with pytest.raises(AuthenticationError) as caught:
            client().find_record_for_session("call-1001")
    assert "invalid_client: invalid client credentials" in str(caught.value)
    assert "test-client-secret" not in str(caught.value)


def test_an_unreachable_token_endpoint_is_try_later():
    with replay({"doc": DOC, "exchanges": [{**_token("x"), "response": {"status": 503, "body": "Service Unavailable"}}]}):
        with pytest.raises(TransientCrmError):
            client().find_record_for_session("call-1001")


def test_base_url_replaces_the_login_and_the_instance_url():
    sf = client(base_url="http://127.0.0.1:8080")
    local = "http://127.0.0.1:8080"
    with replay({"doc": DOC, "exchanges": [
        {**_token("test-access-token"), "request": {**_token("x")["request"], "url": f"{local}/services/oauth2/token"}},
        {"request": {"method": "GET", "url": f"{local}/services/data/v60.0/query"}, "response": {"status": 200, "json": EMPTY}},
    ]}):
        assert sf.find_record_for_session("call-1001") is None


def test_an_instance_url_setting_wins_over_the_token_response():
    sf = client(instance_url="https://acme--uat.sandbox.my.salesforce.com", api_version="v61.0")
    with replay({"doc": DOC, "exchanges": [
        _token("test-access-token"),
        {"request": {"method": "GET", "url": "https://acme--uat.sandbox.my.salesforce.com/services/data/v61.0/query"},
         "response": {"status": 200, "json": EMPTY}},
    ]}):
        assert sf.find_record_for_session("call-1001") is None


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.mark.parametrize("key_source", ["file", "environment"])
def test_the_jwt_bearer_flow_signs_an_assertion_with_the_private_key(tmp_path, rsa_key, key_source):
    if key_source == "file":
        (tmp_path / "keys").mkdir()
        (tmp_path / "keys" / "salesforce.pem").write_text(_pem(rsa_key))
        key_settings = {"private_key_file": "keys/salesforce.pem"}
    else:  # an environment variable with its line breaks written as \n
        key_settings = {"private_key": _pem(rsa_key).replace("\n", "\\n")}
    settings = {"client_id": "test-client-id", "auth_flow": "jwt_bearer", "username": "integration@acme.example",
                "login_url": INSTANCE, "jwt_audience": "https://test.salesforce.com", **key_settings}
    sf = plugin.crm_client(SalesforceSettingsSchema().load(settings), tmp_path)
    forms: list[dict[str, list[str]]] = []

    def issue_token(request: Any) -> tuple[int, dict[str, str], str]:
        forms.append(parse_qs(request.body))
        return 200, {}, token_body("test-access-token")

    with responses.RequestsMock() as mock:
        mock.add_callback("POST", TOKEN_URL, callback=issue_token)
        assert sf.api.instance_url() == INSTANCE
    (form,) = forms
    assert form["grant_type"] == [JWT_BEARER_GRANT] and "client_secret" not in form
    claims = jwt.decode(form["assertion"][0], rsa_key.public_key(), algorithms=["RS256"], audience="https://test.salesforce.com")
    assert claims["iss"] == "test-client-id" and claims["sub"] == "integration@acme.example"


def test_an_unusable_private_key_is_an_authentication_error_that_does_not_show_it():
    settings = {"client_id": "test-client-id", "auth_flow": "jwt_bearer", "username": "integration@acme.example",
                "login_url": INSTANCE, "private_key": "not-a-pem-key-material"}
    sf = plugin.crm_client(SalesforceSettingsSchema().load(settings), Path("."))
    with pytest.raises(AuthenticationError, match="PEM") as caught:
        sf.api.instance_url()
    assert "not-a-pem-key-material" not in str(caught.value)


def test_a_missing_key_file_is_named(tmp_path):
    settings = {"client_id": "test-client-id", "auth_flow": "jwt_bearer", "username": "integration@acme.example",
                "login_url": INSTANCE, "private_key_file": "absent.pem"}
    sf = plugin.crm_client(SalesforceSettingsSchema().load(settings), tmp_path)
    with pytest.raises(AuthenticationError, match="absent.pem"):
        sf.api.instance_url()


def test_api_usage_is_logged_at_debug_and_the_token_never(caplog):
    caplog.set_level(logging.DEBUG, logger="crmhub.salesforce")
    with replay({"doc": DOC, "exchanges": [
        _token("test-access-token-for-logs"),
        {"request": {"method": "GET", "url": QUERY_URL},
         "response": {"status": 200, "headers": {"Sforce-Limit-Info": "api-usage=18/5000"}, "json": EMPTY}},
    ]}):
        client().find_record_for_session("call-1001")
    assert any("api-usage=18/5000" in r.getMessage() and r.levelno == logging.DEBUG for r in caplog.records)
    assert "test-access-token-for-logs" not in caplog.text


def test_building_a_client_makes_no_call():
    with responses.RequestsMock() as mock:  # any request would fail: none registered
        sf = client()
        assert "test-client-secret" not in repr(sf.api) + repr(sf.api.tokens)
    assert len(mock.calls) == 0


def _token(value: str) -> dict[str, Any]:
    return {
        "request": {"method": "POST", "url": TOKEN_URL,
                    "form": {"grant_type": "client_credentials", "client_id": "test-client-id",
                             "client_secret": "test-client-secret"}},
        "response": {"status": 200, "json": {"access_token": value, "instance_url": INSTANCE}},
    }
