"""The plugin test kit itself: fixture format, strict replay, recorder scrubbing, credential scan,
throwaway plugins, the third-party fixture finder, and the connector suite catching a wrong plugin."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
import responses

from crmhub.core.hookspecs import hookimpl
from crmhub.plugins import load_plugins
from crmhub.testing import (
    FixtureError, Recorder, load_fixture, register_plugin, replay, samples, scan_for_credentials,
)
from crmhub import testing as kit
from crmhub.testing import third_party
from crmhub.testing.replay import UnexpectedRequest, UnusedExchanges

pytest_plugins = ["pytester"]

BASE = "https://toy.example.com/api"


def exchange(method: str, url: str, status: int = 200, **request: Any) -> dict[str, Any]:
    response = request.pop("response", {"status": status, "json": {"ok": True}})
    return {"request": {"method": method, "url": url, **request}, "response": response}


def fixture(*exchanges: dict[str, Any]) -> dict[str, Any]:
    return {"doc": "https://toy.example.com/docs", "description": "test", "exchanges": list(exchanges)}


# --- fixture format -------------------------------------------------------------------------------


def test_load_fixture_reads_a_valid_file(tmp_path: Path) -> None:
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(fixture(exchange("GET", f"{BASE}/records", query={"page": "1"}))))
    assert load_fixture(path)["exchanges"][0]["request"]["query"] == {"page": "1"}


@pytest.mark.parametrize(
    ("broken", "named"),
    [
        ({"exchanges": [exchange("GET", f"{BASE}/r")]}, "doc"),
        ({"doc": "d", "exchanges": []}, "exchanges"),
        ({"doc": "d", "exchanges": [exchange("FETCH", f"{BASE}/r")]}, "exchanges[0].request.method"),
        ({"doc": "d", "exchanges": [exchange("GET", f"{BASE}/r?page=1")]}, "exchanges[0].request.url"),
        ({"doc": "d", "exchanges": [exchange("GET", f"{BASE}/r", response={"status": "200"})]}, "response.status"),
        ({"doc": "d", "exchanges": [exchange("GET", f"{BASE}/r", respnose={})]}, "request.respnose"),
        ({"doc": "d", "exchanges": [exchange("GET", f"{BASE}/r", response={"timeout": True, "status": 200})]},
         "timeout response"),
    ],
)
def test_load_fixture_names_what_is_wrong(tmp_path: Path, broken: dict[str, Any], named: str) -> None:
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    with pytest.raises(FixtureError, match=named.replace("[", r"\[").replace("]", r"\]")):
        load_fixture(path)


# --- replay ---------------------------------------------------------------------------------------


def test_replay_serves_exchanges_in_order_and_records_the_calls() -> None:
    recorded = fixture(
        exchange("POST", f"{BASE}/records", json={"title": "a"}, headers={"Idempotency-Key": "k-1"},
                 response={"status": 201, "headers": {"Location": f"{BASE}/records/1"}, "json": {"id": 1}}),
        exchange("GET", f"{BASE}/records/1", response={"status": 200, "json": {"id": 1, "v": 1}}),
        exchange("GET", f"{BASE}/records/1", response={"status": 200, "body": "<html>not json"}),
        exchange("GET", f"{BASE}/records", query={"q": "x"}, response={"timeout": True}),
    )
    with replay(recorded) as seen:
        created = requests.post(f"{BASE}/records", json={"title": "a"}, headers={"Idempotency-Key": "k-1"})
        first = requests.get(f"{BASE}/records/1")
        second = requests.get(f"{BASE}/records/1")
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.get(f"{BASE}/records", params={"q": "x"})
    assert (created.status_code, created.json(), created.headers["Location"]) == (201, {"id": 1}, f"{BASE}/records/1")
    assert first.json() == {"id": 1, "v": 1}
    assert second.text == "<html>not json"
    assert [(m, u, q, j) for m, u, q, j, _ in seen.calls] == [
        ("POST", f"{BASE}/records", {}, {"title": "a"}),
        ("GET", f"{BASE}/records/1", {}, None),
        ("GET", f"{BASE}/records/1", {}, None),
        ("GET", f"{BASE}/records", {"q": "x"}, None),
    ]
    assert seen.calls[0][4]["Idempotency-Key"] == "k-1"


def test_replay_reads_fixture_files_and_concatenates_them(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps(fixture(exchange("GET", f"{BASE}/a"))))
    (tmp_path / "b.json").write_text(json.dumps(fixture(exchange("GET", f"{BASE}/b"))))
    with replay(tmp_path / "a.json", tmp_path / "b.json") as seen:
        requests.get(f"{BASE}/a")
        requests.get(f"{BASE}/b")
    assert [call[1] for call in seen.calls] == [f"{BASE}/a", f"{BASE}/b"]


@pytest.mark.parametrize(
    ("send", "complaint"),
    [
        (lambda: requests.post(f"{BASE}/records", json={"title": "b"}, headers={"Idempotency-Key": "k"}),
         'json body {"title": "a"} expected'),
        (lambda: requests.post(f"{BASE}/records", json={"title": "a"}, headers={"Idempotency-Key": "other"}),
         "header Idempotency-Key: k expected"),
        (lambda: requests.post(f"{BASE}/records?page=2", json={"title": "a"}, headers={"Idempotency-Key": "k"}),
         'query {"page": "1"} expected'),
        (lambda: requests.put(f"{BASE}/records", json={"title": "a"}, headers={"Idempotency-Key": "k"}),
         "method POST expected"),
        (lambda: requests.post(f"{BASE}/elsewhere", json={"title": "a"}, headers={"Idempotency-Key": "k"}),
         f"url {BASE}/records expected"),
    ],
)
def test_replay_fails_an_unmatched_request_listing_what_was_expected(send: Any, complaint: str) -> None:
    expected = fixture(
        exchange("POST", f"{BASE}/records", query={"page": "1"}, json={"title": "a"}, headers={"Idempotency-Key": "k"})
    )
    with pytest.raises(UnexpectedRequest) as failure:
        with replay(expected):
            send()
    message = str(failure.value)
    assert "request matches no remaining exchange" in message
    assert f"[0] POST {BASE}/records: " in message
    assert complaint in message


def test_replay_fails_an_unmatched_request_even_when_the_caller_swallows_the_error() -> None:
    with pytest.raises(UnexpectedRequest, match=f"GET {BASE}/surprise"):
        with replay(fixture(exchange("GET", f"{BASE}/a"))):
            requests.get(f"{BASE}/a")
            try:
                requests.get(f"{BASE}/surprise")
            except Exception:  # what a careless plugin might do
                pass


def test_inline_fixtures_are_built_validated_and_replayed() -> None:
    built = kit.fixture(
        "https://example.invalid/docs",
        kit.exchange("POST", "https://api.example.invalid/things", status=201, json={"id": 1}, body={"name": "a"}),
        kit.exchange("GET", "https://api.example.invalid/things", query={"name": "a"}, timeout=True),
    )
    assert built["exchanges"][0] == {
        "request": {"method": "POST", "url": "https://api.example.invalid/things", "json": {"name": "a"}},
        "response": {"status": 201, "json": {"id": 1}},
    }
    with replay(built):
        assert requests.post("https://api.example.invalid/things", json={"name": "a"}, timeout=5).json() == {"id": 1}
        with pytest.raises(requests.Timeout):
            requests.get("https://api.example.invalid/things", params={"name": "a"}, timeout=5)
    with pytest.raises(FixtureError, match="query string"):
        kit.fixture("https://example.invalid/docs", kit.exchange("GET", "https://api.example.invalid/things?name=a"))


def test_replay_fails_an_exchange_that_was_never_used() -> None:
    with pytest.raises(UnusedExchanges, match=rf"\[1\] GET {BASE}/b"):
        with replay(fixture(exchange("GET", f"{BASE}/a"), exchange("GET", f"{BASE}/b"))):
            requests.get(f"{BASE}/a")


def test_replay_uses_each_exchange_once() -> None:
    with pytest.raises(UnexpectedRequest, match="no exchanges remain"):
        with replay(fixture(exchange("GET", f"{BASE}/a"))):
            requests.get(f"{BASE}/a")
            requests.get(f"{BASE}/a")


def test_replay_matches_form_bodies() -> None:
    token = fixture(exchange("POST", f"{BASE}/token", form={"grant_type": "client_credentials"}))
    with replay(token):
        requests.post(f"{BASE}/token", data={"grant_type": "client_credentials"})
    with pytest.raises(UnexpectedRequest, match="form body"):
        with replay(token):
            requests.post(f"{BASE}/token", data={"grant_type": "password"})


# --- recorder -------------------------------------------------------------------------------------

TENANT = "d3v-acme-corp.zendesk.com"
TOKEN = "Zk9s8TRUEsecret4455aa"


@pytest.fixture
def recording() -> dict[str, Any]:
    """One live-looking exchange carrying every kind of secret, recorded and saved."""
    with responses.RequestsMock() as live:
        live.add(
            "POST", f"https://{TENANT}/api/v2/tickets.json",
            status=201,
            json={"ticket": {"id": 7, "url": f"https://{TENANT}/api/v2/tickets/7.json"},
                  "access_token": "live-access-abc123", "note": f"echo {TOKEN}"},
            headers={"Set-Cookie": "_zendesk_session=abc123; path=/", "X-Api-Key": "kkk-live-777",
                     "Location": f"https://{TENANT}/api/v2/tickets/7.json"},
        )
        with Recorder(secret_env=["ZD_TOKEN"], tenant_hosts={TENANT: "acme.zendesk.com"},
                      environ={"ZD_TOKEN": TOKEN}) as recorder:
            requests.post(
                f"https://{TENANT}/api/v2/tickets.json",
                params={"api_key": "qqq-live-888", "page": "1"},
                json={"ticket": {"subject": "hi", "comment": {"body": f"my token is {TOKEN}"}},
                      "password": "hunter22"},
                headers={"Authorization": "Basic YWdlbnRAYWNtZS5jb20vdG9rZW46Wms5czg=", "Idempotency-Key": "crmhub-call-1",
                         "Cookie": "_zendesk_session=abc123"},
            )
    return recorder.fixture("https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/", "recorded")


def test_recorder_drops_authorization_and_cookies(recording: dict[str, Any]) -> None:
    text = json.dumps(recording)
    assert "Authorization" not in text and "YWdlbnRA" not in text
    assert "Cookie" not in text and "_zendesk_session" not in text
    assert recording["exchanges"][0]["request"]["headers"] == {"Idempotency-Key": "crmhub-call-1"}


def test_recorder_redacts_token_headers_query_and_json_keys(recording: dict[str, Any]) -> None:
    request, response = recording["exchanges"][0]["request"], recording["exchanges"][0]["response"]
    assert request["query"] == {"api_key": "REDACTED", "page": "1"}
    assert request["json"]["password"] == "REDACTED"
    assert response["headers"]["X-Api-Key"] == "REDACTED"
    assert response["json"]["access_token"] == "REDACTED"


def test_recorder_replaces_environment_secrets_wherever_they_appear(recording: dict[str, Any]) -> None:
    text = json.dumps(recording)
    assert TOKEN not in text
    assert recording["exchanges"][0]["request"]["json"]["ticket"]["comment"]["body"] == "my token is REDACTED"
    assert recording["exchanges"][0]["response"]["json"]["note"] == "echo REDACTED"


def test_recorder_replaces_the_tenant_host_everywhere(recording: dict[str, Any]) -> None:
    exchange_ = recording["exchanges"][0]
    assert TENANT not in json.dumps(recording)
    assert exchange_["request"]["url"] == "https://acme.zendesk.com/api/v2/tickets.json"
    assert exchange_["response"]["headers"]["Location"] == "https://acme.zendesk.com/api/v2/tickets/7.json"
    assert exchange_["response"]["json"]["ticket"]["url"] == "https://acme.zendesk.com/api/v2/tickets/7.json"


def test_a_recording_is_clean_and_replays(recording: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "recorded.json"
    path.write_text(json.dumps(recording))
    assert scan_for_credentials([path]) == []
    with replay(path):
        answer = requests.post(
            "https://acme.zendesk.com/api/v2/tickets.json", params={"api_key": "REDACTED", "page": "1"},
            json=recording["exchanges"][0]["request"]["json"], headers={"Idempotency-Key": "crmhub-call-1"},
        )
    assert answer.status_code == 201 and answer.json()["ticket"]["id"] == 7


def test_recorder_scrubs_form_bodies_and_records_timeouts(tmp_path: Path) -> None:
    with responses.RequestsMock() as live:
        live.add("POST", "https://login.example.com/token", json={"access_token": "eyJlive.live.live"})
        live.add("GET", "https://login.example.com/slow", body=requests.exceptions.ReadTimeout("slow"))
        with Recorder(environ={}) as recorder:
            requests.post("https://login.example.com/token",
                          data={"grant_type": "password", "client_secret": "cs-live-1", "password": "pw-live-2"})
            with pytest.raises(requests.exceptions.ReadTimeout):
                requests.get("https://login.example.com/slow")
    saved = recorder.save(tmp_path / "token.json", doc="https://login.example.com/docs")
    token, slow = load_fixture(saved)["exchanges"]
    assert token["request"]["form"] == {"grant_type": "password", "client_secret": "REDACTED", "password": "REDACTED"}
    assert token["response"]["json"] == {"access_token": "REDACTED"}
    assert slow["response"] == {"timeout": True}


def test_recorder_insists_on_the_named_environment_variables() -> None:
    with pytest.raises(ValueError, match="ZD_TOKEN"):
        Recorder(secret_env=["ZD_TOKEN"], environ={})


# --- credential scan ------------------------------------------------------------------------------

PLANTED = {
    "basic_auth.json": {"request": {"headers": {"Authorization": "Basic YWdlbnRAYWNtZS5jb20vdG9rZW46c2VjcmV0"}}},
    "bearer_in_text.json": {"note": "sent with Bearer abcdef0123456789abcdef"},
    "access_token.json": {"json": {"access_token": "a1b2c3d4e5f6g7h8"}},
    "api_key_query.json": {"url": "https://acme.example.com/api?page=2&api_key=a1b2c3d4e5"},
    "jwt.json": {"body": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1LTcifQ.c2lnbmF0dXJlLWhlcmU"},
    "salesforce_session.json": {"body": "00Dx0000000BV7z!AR8AQP0jITN80ESEsj5EbaZTFG0RNBaT1cyWk7TrqoDjoNIWQ2ME"},
    "private_key.json": {"key_file": "-----BEGIN RSA PRIVATE KEY-----\nMIIE..."},
    "password.json": {"password": "correct-horse-battery"},
    "cookie.json": {"headers": {"Set-Cookie": "session=9f8e7d6c5b4a"}},
}


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_scan_finds_a_planted_credential(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(json.dumps(PLANTED[name]))
    found = scan_for_credentials([path])
    assert len(found) == 1 and found[0].startswith(f"{path}: ")


def test_scan_finds_credentials_in_plain_text(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("api_token = 'zx81spectrum48k'\n")
    assert scan_for_credentials([path]) == [f"{path}: api_token holds a secret-looking value (zx8…)"]


def test_scan_never_prints_the_secret_it_found(tmp_path: Path) -> None:
    path = tmp_path / "leak.json"
    path.write_text(json.dumps({"api_token": "zx81spectrum48k"}))
    assert "zx81spectrum48k" not in "".join(scan_for_credentials([path]))


def test_scan_passes_clean_files_and_placeholders(tmp_path: Path) -> None:
    clean = tmp_path / "clean.json"
    clean.write_text(json.dumps(fixture(
        exchange("POST", "https://acme.zendesk.com/api/v2/tickets.json", headers={"Idempotency-Key": "crmhub-call-1001"},
                 json={"ticket": {"subject": "IVR Call call-1001", "external_id": "call-1001", "tags": ["ujet"]}},
                 response={"status": 201, "json": {"ticket": {"id": 4016, "status": "new"}}}),
    )))
    placeholders = tmp_path / "placeholders.json"
    placeholders.write_text(json.dumps({
        "access_token": "REDACTED", "api_token": "test-token", "password": "***",
        "client_secret": "<client-secret>", "Authorization": "Basic REDACTED", "api_key": "env:TOY_KEY",
    }))
    assert scan_for_credentials([clean, placeholders]) == []


# --- throwaway plugins ----------------------------------------------------------------------------


class TagPlugin:
    """A plugin that is not a CRM: it adds one tag."""

    @hookimpl
    def session_tags(self, session: Any, settings: Any) -> list[str]:
        return ["from-throwaway"]


def test_register_plugin_loads_for_the_block_and_is_removed_after() -> None:
    plugin = TagPlugin()
    with register_plugin(plugin, name="throwaway-tags") as name:
        loaded = load_plugins({})
        assert name == "throwaway-tags"
        assert loaded.pm.get_plugin("throwaway-tags") is plugin
        assert "session_tags" in next(info.hooks for info in loaded.infos if info.name == name)
    assert load_plugins({}).pm.get_plugin("throwaway-tags") is None
    assert not [m for m in sys.modules if m.startswith("crmhub_testing_throwaway_")]


def test_register_plugin_cleans_up_when_the_test_fails() -> None:
    with pytest.raises(RuntimeError):
        with register_plugin(TagPlugin(), name="doomed"):
            raise RuntimeError("the test failed")
    assert load_plugins({}).pm.get_plugin("doomed") is None


def test_register_plugin_refuses_a_builtin_name() -> None:
    with pytest.raises(ValueError, match="built-in"):
        with register_plugin(TagPlugin(), name="local"):
            pass


def test_a_broken_throwaway_plugin_is_reported_by_name(crmhub_plugin: Any) -> None:
    class WrongSignature:
        @hookimpl
        def format_tags(self, tags: Any, surprise: Any) -> list[str]:
            return []

    crmhub_plugin(WrongSignature(), name="wrong-signature")
    loaded = load_plugins({})
    assert "wrong-signature" in loaded.errors
    assert "local" in loaded.hooks.crm_plugins()


def test_the_crmhub_plugin_fixture_registers_for_one_test(crmhub_plugin: Any) -> None:
    assert crmhub_plugin(TagPlugin(), name="fixture-tags") == "fixture-tags"
    assert load_plugins({}).pm.get_plugin("fixture-tags") is not None


def test_the_previous_test_left_no_plugin_behind() -> None:
    assert load_plugins({}).pm.get_plugin("fixture-tags") is None


# --- third-party fixtures -------------------------------------------------------------------------


def test_third_party_env_var_wins(tmp_path: Path) -> None:
    assert third_party.third_party_fixtures_dir({third_party.ENV_VAR: str(tmp_path)}) == tmp_path.resolve()


def test_third_party_env_var_naming_nothing_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(third_party.ThirdPartyFixturesMissing):
        third_party.third_party_fixtures_dir({third_party.ENV_VAR: str(tmp_path / "absent")})


def test_third_party_found_by_walking_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = tmp_path / "shared" / "third-party-fixtures"
    shared.mkdir(parents=True)
    deep = tmp_path / "main" / "plugins" / "toy"
    deep.mkdir(parents=True)
    monkeypatch.setattr(third_party, "_starting_points", lambda: [deep])
    assert third_party.third_party_fixtures_dir({}) == shared.resolve()


def test_third_party_absent_skips_outside_ci_and_fails_under_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(third_party, "_starting_points", lambda: [tmp_path])
    with pytest.raises(pytest.skip.Exception):
        third_party.third_party_fixtures_dir({})
    with pytest.raises(third_party.ThirdPartyFixturesMissing, match="CI"):
        third_party.third_party_fixtures_dir({"CI": "true"})


# --- samples --------------------------------------------------------------------------------------


def test_samples_are_the_documented_standard_inputs() -> None:
    record = samples.new_record()
    assert samples.AT.isoformat() == "2026-11-25T09:30:05+00:00"
    assert (record.title, record.idempotency_key, record.tags) == (
        "IVR Call call-1001", "crmhub-call-1001", ("voice_inbound_ivr", "ujet"))
    assert record.session.end_user == samples.END_USER and record.session.leaf_queue == samples.LEAF_QUEUE
    assert samples.note().session.id == "call-1002"
    assert samples.query(window_days=3).closed_since.isoformat() == "2026-11-22T09:30:05+00:00"
    assert samples.query().closed_since is None
    assert samples.session(end_user=None).is_anonymous


def test_the_pytest_plugin_imports_nothing_heavy() -> None:
    probe = "import sys, crmhub.testing.pytest_plugin as p; print(sorted(m for m in sys.modules if m.split('.')[0] in ('crmhub', 'requests', 'responses', 'marshmallow', 'phonenumbers')))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "['crmhub', 'crmhub.testing', 'crmhub.testing.pytest_plugin']"


# --- the connector suite catches a wrong plugin ---------------------------------------------------

TOY_CRM = '''
"""A tiny CRM plugin speaking HTTP to toy.example.com, correct in every respect the suite checks."""
from datetime import datetime

import requests
from marshmallow import Schema, fields

from crmhub.core.errors import (
    AuthenticationError, CrmError, PermanentCrmError, TransientCrmError, UnknownOutcomeError)
from crmhub.core.hookspecs import hookimpl
from crmhub.core.models import CheckResult, CrmRecord
from crmhub.core.rules import pick_record
from crmhub.core.tags import zendesk_tag

BASE = "https://toy.example.com/api"


class Settings(Schema):
    base_url = fields.String(load_default=BASE)
    api_key = fields.String(required=True)


class Client:
    def __init__(self, base_url, api_key):
        self.base_url, self._api_key = base_url, api_key

    def __repr__(self):
        return f"Client({self.base_url!r})"

    def call(self, method, path, **kwargs):
        try:
            response = requests.request(method, self.base_url + path, headers={"X-Api-Key": self._api_key},
                                        timeout=5, **kwargs)
        except requests.Timeout as error:
            raise UnknownOutcomeError("timed out") from error
        except requests.ConnectionError as error:
            raise TransientCrmError("unreachable") from error
        if response.status_code == 401:
            raise AuthenticationError("HTTP 401: credentials refused")
        if response.status_code == 429:
            raise TransientCrmError("rate limited", retry_after=float(response.headers["Retry-After"]))
        if response.status_code >= 500:
            raise TransientCrmError(f"server error {response.status_code}")
        if response.status_code >= 400:
            raise PermanentCrmError(f"refused: {response.status_code}")
        try:
            return response.json()
        except ValueError:
            raise PermanentCrmError("the answer is not JSON") from None


def to_record(data):
    try:
        when = lambda key: datetime.fromisoformat(data[key]) if data.get(key) else None
        return CrmRecord(crm="toy", id=str(data["id"]), status="open" if data["status"] == "open" else "closed",
                         crm_status=data["status"], closed_at=when("closed_at"), created_at=when("created_at"),
                         leaf_queue_id=data.get("queue"), follow_up_of=data.get("follow_up_of"))
    except (KeyError, TypeError, ValueError) as error:
        raise PermanentCrmError(f"unexpected record shape: {error}") from None


@hookimpl
def crm_name():
    return "toy"


@hookimpl
def crm_settings_schema():
    return Settings()


@hookimpl
def crm_client(settings, config_dir):
    return Client(settings["base_url"], settings["api_key"])


@hookimpl
def find_open_record(client, query):
    found = client.call("GET", "/records", params={"user": query.end_user.id, "queue": query.leaf_queue.id})
    return pick_record([to_record(r) for r in found["records"]], query.closed_since)


@hookimpl
def create_record(client, record):
    body = {"title": record.title, "session": record.session_id, "queue": record.session.leaf_queue.id,
            "tags": list(record.tags)}
    return to_record(client.call("POST", "/records", json=body))


@hookimpl
def append_session(client, record, note):
    return to_record(client.call("POST", f"/records/{record.id}/notes", json={"text": note.text}))


@hookimpl
def reopen(client, record, note):
    return to_record(client.call("POST", f"/records/{record.id}/notes", json={"text": note.text, "reopen": True}))


@hookimpl
def find_record_for_session(client, session_id):
    found = client.call("GET", "/records", params={"session": session_id})["records"]
    return to_record(found[0]) if found else None


@hookimpl
def check_crm(client, settings):
    try:
        me = client.call("GET", "/me")
    except CrmError as error:
        return [CheckResult("credentials", False, f"{client.base_url} refused the api_key: {error}")]
    try:
        client.call("GET", "/records", params={"limit": "1"})
    except CrmError as error:
        return [CheckResult("credentials", True, me["name"]), CheckResult("read records", False, str(error))]
    return [CheckResult("credentials", True, me["name"]), CheckResult("read records", True)]


@hookimpl
def format_tags(tags):
    return [zendesk_tag(tag) for tag in tags]
'''

TEST_TOY = '''
from pathlib import Path

from crmhub.testing import ConnectorSuite
import {module}


class TestToyConnector(ConnectorSuite):
    plugin = {module}
    settings = {{"api_key": "test-key"}}
    fixtures_dir = Path(__file__).parent / "fixtures" / "suite"
    raw_tags = ["Voice Inbound (IVR)", "UJET"]
    expected_tags = ["voice_inbound_ivr", "ujet"]
{check_fixtures}'''
CHECK_FIXTURES = '''    check_ok_fixture = "../check/all_ok.json"
    check_bad_credentials_fixture = "../check/bad_credentials.json"
'''


def toy_record(record_id: int, status: str, **extra: Any) -> dict[str, Any]:
    return {"id": record_id, "status": status, "created_at": "2026-11-20T10:00:00+00:00", "queue": "q-42", **extra}


TOY_CHECK_OK = fixture(
    exchange("GET", f"{BASE}/me", response={"status": 200, "json": {"name": "crmhub integration"}}),
    exchange("GET", f"{BASE}/records", query={"limit": "1"}, response={"status": 200, "json": {"records": []}}),
)


def toy_check_fixtures() -> dict[str, dict[str, Any]]:
    """The toy CRM's check fixtures, where the plugins keep theirs: next to the suite's folder."""
    return {
        "all_ok.json": TOY_CHECK_OK,
        "bad_credentials.json": fixture(exchange("GET", f"{BASE}/me", response={
            "status": 401, "json": {"error": "Couldn't authenticate you"}})),
    }


def toy_fixtures() -> dict[str, dict[str, Any]]:
    """The suite's fixture files for the toy CRM."""
    listing = {"user": "u-7", "queue": "q-42"}
    create = {"title": "IVR Call call-1001", "session": "call-1001", "queue": "q-42", "tags": ["voice_inbound_ivr", "ujet"]}
    note = {"text": samples.note().text}

    def create_answer(response: dict[str, Any]) -> dict[str, Any]:
        return fixture(exchange("POST", f"{BASE}/records", json=create, response=response))

    return {
        "create_record.json": create_answer({"status": 201, "json": toy_record(1001, "open")}),
        "find_open_record_open.json": fixture(exchange("GET", f"{BASE}/records", query=listing, response={
            "status": 200, "json": {"records": [toy_record(1001, "open")]}})),
        "find_open_record_closed_inside_window.json": fixture(exchange("GET", f"{BASE}/records", query=listing, response={
            "status": 200, "json": {"records": [toy_record(1002, "closed", closed_at="2026-11-24T09:00:00+00:00")]}})),
        "find_open_record_closed_outside_window.json": fixture(exchange("GET", f"{BASE}/records", query=listing, response={
            "status": 200, "json": {"records": [toy_record(1003, "closed", closed_at="2026-11-20T09:30:05+00:00")]}})),
        "find_open_record_none.json": fixture(exchange("GET", f"{BASE}/records", query=listing, response={
            "status": 200, "json": {"records": []}})),
        "append_session.json": fixture(exchange("POST", f"{BASE}/records/1001/notes", json=note, response={
            "status": 200, "json": toy_record(1001, "open")})),
        "reopen.json": fixture(exchange("POST", f"{BASE}/records/1002/notes", json={**note, "reopen": True}, response={
            "status": 200, "json": toy_record(1002, "open")})),
        "find_record_for_session.json": fixture(exchange("GET", f"{BASE}/records", query={"session": "call-1001"}, response={
            "status": 200, "json": {"records": [toy_record(1001, "open")]}})),
        "error_401.json": create_answer({"status": 401, "json": {"error": "Couldn't authenticate you"}}),
        "error_403.json": create_answer({"status": 403, "json": {"error": "Forbidden"}}),
        "error_404.json": fixture(exchange("POST", f"{BASE}/records/999999/notes", json=note, response={
            "status": 404, "json": {"error": "RecordNotFound"}})),
        "error_429.json": create_answer({"status": 429, "headers": {"Retry-After": "30"}, "json": {"error": "slow down"}}),
        "error_5xx.json": create_answer({"status": 503, "body": "Service Unavailable"}),
        "error_timeout.json": create_answer({"timeout": True}),
        "error_malformed.json": create_answer({"status": 201, "body": "<html>maintenance</html>"}),
    }


@pytest.fixture
def toy_project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A plugin project for the toy CRM: its plugin module, its suite and check fixtures, nothing else."""
    for folder, fixtures in (("suite", toy_fixtures()), ("check", toy_check_fixtures())):
        (pytester.path / "fixtures" / folder).mkdir(parents=True)
        for name, content in fixtures.items():
            (pytester.path / "fixtures" / folder / name).write_text(json.dumps(content, indent=1))
    pytester.syspathinsert()
    return pytester


def run_suite(
    project: pytest.Pytester, module: str, source: str, check_fixtures: str = CHECK_FIXTURES
) -> pytest.RunResult:
    test = TEST_TOY.format(module=module, check_fixtures=check_fixtures)
    project.makepyfile(**{module: source, f"test_{module}": test})
    return project.runpytest_inprocess("-q", "-rfEs", "-p", "no:cacheprovider")


def test_the_suite_passes_a_correct_plugin(toy_project: pytest.Pytester) -> None:
    result = run_suite(toy_project, "toy_crm", TOY_CRM)
    result.assert_outcomes(passed=23)


def test_the_suite_fails_a_plugin_that_swallows_429(toy_project: pytest.Pytester) -> None:
    swallows = TOY_CRM.replace(
        'raise TransientCrmError("rate limited", retry_after=float(response.headers["Retry-After"]))',
        'raise PermanentCrmError("rate limited")',
    )
    assert swallows != TOY_CRM
    result = run_suite(toy_project, "toy_crm_swallows_429", swallows)
    result.assert_outcomes(passed=22, failed=1)
    result.stdout.fnmatch_lines(["*FAILED*test_error_429_is_transient_with_retry_after*"])


def test_the_suite_fails_a_plugin_that_ignores_retry_after(toy_project: pytest.Pytester) -> None:
    ignores = TOY_CRM.replace('retry_after=float(response.headers["Retry-After"])', "retry_after=None")
    assert ignores != TOY_CRM
    result = run_suite(toy_project, "toy_crm_no_retry_after", ignores)
    result.assert_outcomes(passed=22, failed=1)
    result.stdout.fnmatch_lines(["*FAILED*test_error_429_is_transient_with_retry_after*"])


def test_the_suite_fails_a_plugin_that_sends_an_unrecorded_request(toy_project: pytest.Pytester) -> None:
    chatty = TOY_CRM.replace('"tags": list(record.tags)}', '"tags": list(record.tags), "extra": 1}')
    assert chatty != TOY_CRM
    result = run_suite(toy_project, "toy_crm_chatty", chatty)
    result.assert_outcomes(passed=16, failed=7)  # the create and the six error cases built on it
    result.stdout.fnmatch_lines(["*request matches no remaining exchange*", "*FAILED*test_create_record*"])


def test_the_suite_fails_a_fixture_holding_a_credential(toy_project: pytest.Pytester) -> None:
    leaky = toy_project.path / "fixtures" / "e2e" / "leaky.json"
    leaky.parent.mkdir()
    leaky.write_text(json.dumps({"Authorization": "Bearer 9f8e7d6c5b4a39281706"}))
    result = run_suite(toy_project, "toy_crm_leaky", TOY_CRM)
    result.assert_outcomes(passed=22, failed=1)
    result.stdout.fnmatch_lines(["*FAILED*test_fixtures_hold_no_credentials*"])


@pytest.mark.parametrize(
    ("missing", "failed", "complaint"),
    [
        ("suite/reopen.json", 2, "*missing connector-suite fixture reopen.json*"),  # and the fixture-set test
        ("check/all_ok.json", 1, "*missing check fixture ../check/all_ok.json*set check_ok_fixture = None to opt out*"),
    ],
)
def test_the_suite_fails_when_a_fixture_is_missing(
    toy_project: pytest.Pytester, missing: str, failed: int, complaint: str
) -> None:
    (toy_project.path / "fixtures" / missing).unlink()
    result = run_suite(toy_project, f"toy_crm_without_{Path(missing).stem}", TOY_CRM)
    result.assert_outcomes(passed=23 - failed, failed=failed)
    result.stdout.fnmatch_lines([complaint])


# --- the connector suite and crmhub check ---------------------------------------------------------


def test_the_suite_fails_a_check_that_writes(toy_project: pytest.Pytester) -> None:
    """A check that probes write permission by creating a record: recorded, so replay serves it,
    and the suite still fails it, since ``crmhub check`` must write nothing."""
    probe = {"title": "crmhub check probe"}
    writes = TOY_CRM.replace(
        'client.call("GET", "/records", params={"limit": "1"})', 'client.call("POST", "/records", json=%r)' % probe
    )
    assert writes != TOY_CRM
    recorded = fixture(TOY_CHECK_OK["exchanges"][0], exchange("POST", f"{BASE}/records", json=probe, response={
        "status": 201, "json": toy_record(1009, "open")}))
    (toy_project.path / "fixtures" / "check" / "all_ok.json").write_text(json.dumps(recorded))
    result = run_suite(toy_project, "toy_crm_check_writes", writes)
    result.assert_outcomes(passed=22, failed=1)
    result.stdout.fnmatch_lines([
        "*check_crm must make no write*",
        f"*yet sent *'POST {BASE}/records'*",
        "*FAILED*test_check_crm_all_ok*",
    ])


MISHANDLED_REFUSALS = {
    "escapes": (
        'except CrmError as error:\n        return [CheckResult("credentials"',
        'except KeyError as error:\n        return [CheckResult("credentials"',
        "*check_crm raised AuthenticationError: HTTP 401*never an exception*",
    ),
    "leaks_the_key": (
        "refused the api_key: {error}", "refused the api_key {client._api_key}: {error}",
        "*show the value of a secret setting (result, setting): *('credentials', 'api_key')*",
    ),
    "vague": (
        'f"{client.base_url} refused the api_key: {error}"', '"something went wrong"',
        "*must quote what the CRM answered (HTTP 401)*",
    ),
}
"""How a check can mishandle refused credentials: what to change in the toy, and the suite's complaint."""


@pytest.mark.parametrize("case", sorted(MISHANDLED_REFUSALS))
def test_the_suite_fails_a_check_that_mishandles_refused_credentials(toy_project: pytest.Pytester, case: str) -> None:
    old, new, complaint = MISHANDLED_REFUSALS[case]
    broken = TOY_CRM.replace(old, new)
    assert broken != TOY_CRM
    result = run_suite(toy_project, f"toy_crm_check_{case}", broken)
    result.assert_outcomes(passed=22, failed=1)
    result.stdout.fnmatch_lines([complaint, "*FAILED*test_check_crm_bad_credentials*"])


WITHOUT_CHECK = TOY_CRM.replace("@hookimpl\ndef check_crm", "def check_crm")


def test_the_suite_fails_a_plugin_without_check_crm_saying_how_to_opt_out(toy_project: pytest.Pytester) -> None:
    assert WITHOUT_CHECK != TOY_CRM
    result = run_suite(toy_project, "toy_crm_no_check", WITHOUT_CHECK)
    result.assert_outcomes(passed=21, failed=2)
    result.stdout.fnmatch_lines([
        "*returned nothing from check_crm: implement check_crm*set check_ok_fixture and "
        "check_bad_credentials_fixture to None to opt out explicitly*",
    ])


def test_a_plugin_may_opt_out_of_the_check_tests_and_the_report_says_so(toy_project: pytest.Pytester) -> None:
    opted_out = "    check_ok_fixture = None\n    check_bad_credentials_fixture = None\n"
    result = run_suite(toy_project, "toy_crm_opted_out", WITHOUT_CHECK, check_fixtures=opted_out)
    result.assert_outcomes(passed=21, skipped=2)
    result.stdout.fnmatch_lines(["*SKIPPED*check_ok_fixture is None: this plugin opted out of testing check_crm*"])


def test_replay_is_the_function_even_after_its_module_was_imported() -> None:
    probe = (
        "import crmhub.testing.suite, crmhub.testing.replay\n"
        "from crmhub.testing import replay\n"
        "print(callable(replay), type(replay).__name__)"
    )
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert shown.strip() == "True function"
