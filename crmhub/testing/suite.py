"""The standard connector suite every CRM plugin passes (SPEC section 6).

A plugin's tests subclass :class:`ConnectorSuite` (with a class name starting with ``Test``), name
the plugin object, its raw settings section and the folder of its recorded fixtures; the suite then
drives every CRM hook through its contract, including the failure table of the hook specs and
``check_crm`` (``crmhub check``) over two recorded check fixtures.

Hooks are called through :mod:`crmhub.core.facade`, over a plugin manager holding the hook specs,
crmhub's built-in plugin and the plugin under test, exactly as the dispatcher calls them: a plugin
that passes here behaves the same under ``crmhub``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest

from crmhub.core import errors
from crmhub.core.facade import CrmHooks
from crmhub.core.models import CheckResult, CrmRecord
from crmhub.testing import samples
from crmhub.testing.credentials import scan_for_credentials
from crmhub.testing.fixtures import load_fixture
from crmhub.testing.replay import replay

FIXTURE_FILES = (
    "create_record.json",
    "find_open_record_open.json",
    "find_open_record_closed_inside_window.json",
    "find_open_record_closed_outside_window.json",
    "find_open_record_none.json",
    "append_session.json",
    "reopen.json",
    "find_record_for_session.json",
    "error_401.json",
    "error_403.json",
    "error_404.json",
    "error_429.json",
    "error_5xx.json",
    "error_timeout.json",
    "error_malformed.json",
)
WINDOW_DAYS = 3
READ_ONLY_METHODS = ("GET", "HEAD", "OPTIONS")
"""The methods ``check_crm`` may use freely: the hook spec says "Make no write"."""
_SECRET_SETTING = ("token", "secret", "password", "key", "credential")


def connector_hooks(plugin: object) -> CrmHooks:
    """The facade's CRM hooks over the hook specs, the built-in plugin and ``plugin`` (only)."""
    from crmhub.core.facade import PluginHooks
    from crmhub.plugins import load_plugins

    loaded = load_plugins({"CRMHUB_LOAD_PLUGINS": "builtin", "CRMHUB_STRICT_PLUGINS": "1"})
    name = plugin.__name__ if hasattr(plugin, "__name__") else type(plugin).__name__
    loaded.pm.register(plugin, name=f"plugin-under-test:{name}")
    unknown = [c.name for c in loaded.pm.get_hookcallers(plugin) or [] if not c.has_spec()]
    if unknown:
        raise errors.PluginError(f"plugin {name!r} implements unknown hook(s): {', '.join(sorted(unknown))}")
    hooks = PluginHooks(loaded.pm)
    crms = [crm for crm, owner in hooks.crm_plugins().items() if owner is plugin]
    if len(crms) != 1:
        raise errors.PluginError(f"plugin {name!r} must declare exactly one crm_name (found {crms})")
    return hooks.for_crm(crms[0])


class ConnectorSuite:
    """Subclass as ``Test<Name>Connector`` and set the class attributes below."""

    plugin: ClassVar[object]
    """The object registered as the plugin (usually the plugin module)."""
    settings: ClassVar[dict[str, Any]]
    """The raw ``[crm.KEY]`` section, as an integrator would write it (no real secrets)."""
    fixtures_dir: ClassVar[Path]
    """The folder holding the suite's fixture files (see ``FIXTURE_FILES``)."""
    raw_tags: ClassVar[list[str]] = list(samples.RAW_TAGS)
    expected_tags: ClassVar[list[str]]
    """What ``format_tags(raw_tags)`` must return."""
    open_record_id: ClassVar[str] = "1001"
    closed_record_id: ClassVar[str] = "1002"
    missing_record_id: ClassVar[str] = "999999"
    open_record_crm_status: ClassVar[str] = "open"
    closed_record_crm_status: ClassVar[str] = "closed"
    """The CRM's own status of the closed record ``reopen.json`` reopens (Zendesk: ``solved``)."""
    check_ok_fixture: ClassVar[str | None] = "check_ok.json"
    """What ``check_crm`` sends when every check passes, relative to ``fixtures_dir``.

    None opts out of testing ``check_crm`` (the test is skipped and says so); a plugin that does
    not implement the hook fails here, since ``crmhub check`` would fail for its integrators."""
    check_bad_credentials_fixture: ClassVar[str | None] = "check_bad_credentials.json"
    """What ``check_crm`` sends when the CRM refuses the credentials, relative to ``fixtures_dir``
    (None opts out, as for ``check_ok_fixture``)."""
    check_settings: ClassVar[Mapping[str, Any]] = {}
    """Settings merged over ``settings`` for the ``check_crm`` tests: the fields, statuses, groups or
    queues the check fixtures were recorded with (``check_crm`` reads what the settings name)."""
    check_read_only_post_urls: ClassVar[tuple[str, ...]] = ()
    """URLs (without query string) ``check_crm`` may POST to although it writes nothing there: an
    OAuth 2.0 token endpoint (RFC 6749 requires POST) or a search endpoint taking its query in the
    body. Any other request of ``check_crm`` must be GET, HEAD or OPTIONS."""

    # --- helpers ----------------------------------------------------------------------------------

    @pytest.fixture
    def connector(self) -> tuple[CrmHooks, Any]:
        hooks = connector_hooks(self.plugin)
        loaded = hooks.settings_schema().load(dict(self.settings))
        return hooks, hooks.client(loaded, Path(self.fixtures_dir))

    def fixture(self, name: str) -> Path:
        path = Path(self.fixtures_dir) / name
        if not path.is_file():
            pytest.fail(f"missing connector-suite fixture {name} in {self.fixtures_dir}")
        return path

    def new_record(self, hooks: CrmHooks) -> Any:
        return samples.new_record(tags=hooks.format_tags(self.raw_tags))

    def note(self, hooks: CrmHooks) -> Any:
        return samples.note(tags=hooks.format_tags(self.raw_tags))

    def record(self, hooks: CrmHooks, record_id: str, status: str, crm_status: str) -> CrmRecord:
        return CrmRecord(
            crm=hooks.crm, id=record_id, status=status, crm_status=crm_status,  # type: ignore[arg-type]
            closed_at=samples.AT - timedelta(days=1) if status == "closed" else None,
            created_at=samples.AT - timedelta(days=2), leaf_queue_id=samples.LEAF_QUEUE.id,
        )

    def secrets_shown(self, text: str, settings: Mapping[str, Any]) -> list[str]:
        """The secret-named settings (``api_token``, ``client_secret``...) whose value ``text`` shows.

        Names, not values, so that a failing assertion does not print the secret itself."""
        return [
            key for key, value in settings.items()
            if any(word in key.lower() for word in _SECRET_SETTING)
            and isinstance(value, str) and len(value) >= 4 and value in text
        ]

    def check_fixture(self, attribute: str) -> Path:
        """The check fixture named by the class attribute ``attribute``; skips when it is None."""
        name = getattr(self, attribute)
        if name is None:
            pytest.skip(f"{attribute} is None: this plugin opted out of testing check_crm (crmhub check)")
        path = Path(self.fixtures_dir) / name
        if not path.is_file():
            pytest.fail(
                f"missing check fixture {name} in {self.fixtures_dir}: record what check_crm sends, point "
                f"{attribute} at it, or set {attribute} = None to opt out of testing crmhub check"
            )
        return path

    def run_checks(self, fixture: Path) -> list[CheckResult]:
        """Replay ``fixture`` under ``check_crm``, called through the facade with ``check_settings``.

        Whatever the fixture holds, the hook must answer with CheckResults (None, or an exception
        escaping, fails the test with what to do), make no write and show no secret of the settings.
        """
        hooks = connector_hooks(self.plugin)
        raw = {**self.settings, **self.check_settings}
        loaded = hooks.settings_schema().load(raw)
        client = hooks.client(loaded, Path(self.fixtures_dir))
        with replay(fixture) as seen:
            try:
                results = hooks.check_crm(client, loaded)
            except errors.PluginError as error:
                pytest.fail(
                    f"{error}: implement check_crm (crmhub check runs it), or set check_ok_fixture and "
                    "check_bad_credentials_fixture to None to opt out explicitly"
                )
            except AssertionError:  # the replay's own verdict (an unexpected request)
                raise
            except Exception as error:
                pytest.fail(
                    f"check_crm raised {type(error).__name__}: {error}; a failed check is a CheckResult "
                    "with ok=False and the reason, never an exception"
                )
        assert results, "check_crm returned no results: report each check as a CheckResult"
        strangers = [r for r in results if not isinstance(r, CheckResult)]
        assert not strangers, f"check_crm must return CheckResult objects, not {strangers!r}"
        shown = {(r.name, key) for r in results for key in self.secrets_shown(f"{r.name} {r.detail}", raw)}
        assert not shown, f"check results show the value of a secret setting (result, setting): {sorted(shown)}"
        allowed = set(self.check_read_only_post_urls)
        writes = [
            f"{method} {url}" for method, url, *_ in seen.calls
            if method not in READ_ONLY_METHODS and not (method == "POST" and url in allowed)
        ]
        assert not writes, (
            f"check_crm must make no write, yet sent {writes} (only GET, HEAD or OPTIONS; list a POST "
            "endpoint that writes nothing, such as an OAuth token endpoint, in check_read_only_post_urls)"
        )
        return results

    def create_fails(self, connector: tuple[CrmHooks, Any], name: str, error: type[Exception]) -> Exception:
        hooks, client = connector
        record = self.new_record(hooks)
        with replay(self.fixture(name)):
            with pytest.raises(error) as caught:
                hooks.create_record(client, record)
        return caught.value

    # --- declaration and settings -----------------------------------------------------------------

    def test_crm_name_is_a_lower_case_key(self, connector: tuple[CrmHooks, Any]) -> None:
        hooks, _ = connector
        assert hooks.crm and hooks.crm == hooks.crm.lower() and hooks.crm.isidentifier()

    def test_settings_accept_a_base_url_override(self, connector: tuple[CrmHooks, Any]) -> None:
        hooks, _ = connector
        loaded = hooks.settings_schema().load({**self.settings, "base_url": "http://127.0.0.1:8080"})
        assert "http://127.0.0.1:8080" in [str(v) for v in dict(loaded).values()]

    def test_client_repr_shows_no_secret(self, connector: tuple[CrmHooks, Any]) -> None:
        _, client = connector
        assert self.secrets_shown(repr(client) + str(client), self.settings) == []

    # --- the hooks --------------------------------------------------------------------------------

    def test_create_record(self, connector: tuple[CrmHooks, Any]) -> None:
        hooks, client = connector
        with replay(self.fixture("create_record.json")):
            created = hooks.create_record(client, self.new_record(hooks))
        assert isinstance(created, CrmRecord)
        assert created.crm == hooks.crm
        assert created.id
        assert created.status == "open"

    def test_find_open_record_open(self, connector: tuple[CrmHooks, Any]) -> None:
        hooks, client = connector
        with replay(self.fixture("find_open_record_open.json")):
            found = hooks.find_open_record(client, samples.query(window_days=WINDOW_DAYS))
        assert found is not None and found.crm == hooks.crm and found.id
        assert found.status == "open"

    def test_find_open_record_closed_inside_window(self, connector: tuple[CrmHooks, Any]) -> None:
        hooks, client = connector
        query = samples.query(window_days=WINDOW_DAYS)
        with replay(self.fixture("find_open_record_closed_inside_window.json")):
            found = hooks.find_open_record(client, query)
        assert found is not None and found.id
        assert found.status == "closed"
        assert found.closed_at is not None and query.closed_since is not None
        assert found.closed_at >= query.closed_since

    def test_find_open_record_closed_outside_window(self, connector: tuple[CrmHooks, Any]) -> None:
        hooks, client = connector
        with replay(self.fixture("find_open_record_closed_outside_window.json")):
            found = hooks.find_open_record(client, samples.query(window_days=WINDOW_DAYS))
        assert found is None

    def test_find_open_record_none(self, connector: tuple[CrmHooks, Any]) -> None:
        hooks, client = connector
        with replay(self.fixture("find_open_record_none.json")):
            found = hooks.find_open_record(client, samples.query())
        assert found is None

    def test_append_session(self, connector: tuple[CrmHooks, Any]) -> None:
        hooks, client = connector
        record = self.record(hooks, self.open_record_id, "open", self.open_record_crm_status)
        with replay(self.fixture("append_session.json")):
            updated = hooks.append_session(client, record, self.note(hooks))
        assert updated.crm == hooks.crm and updated.id == self.open_record_id
        assert updated.status == "open"

    def test_reopen(self, connector: tuple[CrmHooks, Any]) -> None:
        hooks, client = connector
        record = self.record(hooks, self.closed_record_id, "closed", self.closed_record_crm_status)
        with replay(self.fixture("reopen.json")):
            reopened = hooks.reopen(client, record, self.note(hooks))
        assert reopened.crm == hooks.crm and reopened.id
        if reopened.follow_up_of is not None:
            assert reopened.follow_up_of == self.closed_record_id and reopened.id != self.closed_record_id
        else:
            assert reopened.id == self.closed_record_id
        assert reopened.status == "open"

    def test_find_record_for_session(self, connector: tuple[CrmHooks, Any]) -> None:
        hooks, client = connector
        with replay(self.fixture("find_record_for_session.json")):
            found = hooks.find_record_for_session(client, "call-1001")
        assert found is not None and found.crm == hooks.crm and found.id

    def test_format_tags(self, connector: tuple[CrmHooks, Any]) -> None:
        hooks, _ = connector
        assert hooks.format_tags(self.raw_tags) == list(self.expected_tags)

    # --- crmhub check ------------------------------------------------------------------------------

    def test_check_crm_all_ok(self) -> None:
        results = self.run_checks(self.check_fixture("check_ok_fixture"))
        failed = [(r.name, r.detail) for r in results if not r.ok]
        assert not failed, f"every check must pass over {self.check_ok_fixture}; failed: {failed}"

    def test_check_crm_bad_credentials(self) -> None:
        fixture = self.check_fixture("check_bad_credentials_fixture")
        results = self.run_checks(fixture)
        failed = [r for r in results if not r.ok]
        assert failed, f"a check must fail over {self.check_bad_credentials_fixture}: the CRM refuses the credentials"
        assert all(r.detail.strip() for r in failed), "a failed check must say why in its detail"
        refusal = _refusal_status(load_fixture(fixture))
        if refusal is not None:
            assert any(str(refusal) in r.detail for r in failed), (
                f"the failed check must quote what the CRM answered (HTTP {refusal}), so the integrator can act on it"
            )

    # --- the failure table ------------------------------------------------------------------------

    def test_error_401_is_an_authentication_error(self, connector: tuple[CrmHooks, Any]) -> None:
        self.create_fails(connector, "error_401.json", errors.AuthenticationError)

    def test_error_403_is_permanent(self, connector: tuple[CrmHooks, Any]) -> None:
        self.create_fails(connector, "error_403.json", errors.PermanentCrmError)

    def test_error_404_on_append_is_permanent(self, connector: tuple[CrmHooks, Any]) -> None:
        hooks, client = connector
        record = self.record(hooks, self.missing_record_id, "open", self.open_record_crm_status)
        with replay(self.fixture("error_404.json")):
            with pytest.raises(errors.PermanentCrmError) as caught:
                hooks.append_session(client, record, self.note(hooks))
        assert not isinstance(caught.value, errors.AuthenticationError)

    def test_error_429_is_transient_with_retry_after(self, connector: tuple[CrmHooks, Any]) -> None:
        expected = _retry_after_seconds(load_fixture(self.fixture("error_429.json")))
        error = self.create_fails(connector, "error_429.json", errors.TransientCrmError)
        assert isinstance(error, errors.TransientCrmError)
        assert error.retry_after == expected

    def test_error_5xx_is_transient(self, connector: tuple[CrmHooks, Any]) -> None:
        self.create_fails(connector, "error_5xx.json", errors.TransientCrmError)

    def test_error_timeout_is_transient(self, connector: tuple[CrmHooks, Any]) -> None:
        self.create_fails(connector, "error_timeout.json", errors.TransientCrmError)

    def test_error_malformed_body_is_a_crm_error(self, connector: tuple[CrmHooks, Any]) -> None:
        self.create_fails(connector, "error_malformed.json", errors.CrmError)

    # --- the fixtures themselves ------------------------------------------------------------------

    def test_fixtures_are_valid_and_name_their_vendor_doc(self) -> None:
        folder = Path(self.fixtures_dir)
        missing = [name for name in FIXTURE_FILES if not (folder / name).is_file()]
        assert missing == []
        for path in sorted(folder.glob("*.json")):
            assert load_fixture(path)["doc"].strip()

    def test_fixtures_hold_no_credentials(self) -> None:
        folder = Path(self.fixtures_dir)
        files = sorted(p for p in {*folder.rglob("*"), *folder.parent.rglob("*")} if p.is_file())
        assert files, f"no fixture files found under {folder.parent}"
        assert scan_for_credentials(files) == []


def _refusal_status(fixture: dict[str, Any]) -> int | None:
    """The HTTP status of the last error answer (4xx or 5xx) in ``fixture``: the CRM's refusal."""
    statuses = [
        exchange["response"]["status"] for exchange in fixture["exchanges"]
        if exchange["response"].get("status", 0) >= 400
    ]
    return statuses[-1] if statuses else None


def _retry_after_seconds(fixture: dict[str, Any]) -> float:
    """The ``Retry-After`` seconds of the fixture's 429 response (what the plugin must report)."""
    for exchange in fixture["exchanges"]:
        response = exchange["response"]
        if response.get("status") == 429:
            for name, value in response.get("headers", {}).items():
                if name.lower() == "retry-after":
                    return float(value)
    raise AssertionError("error_429.json needs a 429 response with a Retry-After header in seconds")
