"""Plugin discovery and isolation (SPEC section 6): broken plugins are reported by name, the others
keep working, and only the selected CRM plugin acts.

Entry points are real: each fake plugin is a throwaway distribution (``NAME.dist-info`` with
``METADATA`` and ``entry_points.txt``, plus its module) in a folder put on ``sys.path``, so that
``importlib.metadata`` finds it exactly as it finds an installed plugin.
"""

from __future__ import annotations

import logging
import sys
import textwrap
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pluggy
import pytest

from crmhub import builtin
from crmhub.core import hookspecs
from crmhub.core.errors import PluginError
from crmhub.core.facade import PluginHooks
from crmhub.core.hookspecs import hookimpl
from crmhub.core.models import CrmRecord, EndUser, LeafQueue, NewRecord, RecordQuery, Session, SessionNote
from crmhub.core.settings import RecordCreationSettings
from crmhub.plugins import load_plugins

GOOD_CRM = """
    from crmhub import hookimpl

    @hookimpl
    def crm_name():
        return "fakecrm"

    @hookimpl
    def crm_client(settings, config_dir):
        return dict(settings)

    @hookimpl
    def format_tags(tags):
        return [tag.upper() for tag in tags]
"""
TAGS_ONLY = """
    from crmhub import hookimpl

    @hookimpl
    def session_tags(session, settings):
        return ["from-tags-only"]
"""
BROKEN_IMPORT = """
    raise RuntimeError("the vendor SDK is missing")
"""
WRONG_SIGNATURE = """
    from crmhub import hookimpl

    @hookimpl
    def crm_name():
        return "wrongsig"

    @hookimpl
    def find_open_record(client, query, region):
        return None
"""
UNKNOWN_HOOK = """
    from crmhub import hookimpl

    @hookimpl
    def crm_name():
        return "unknownhook"

    @hookimpl
    def find_open_records(client, query):
        return None
"""
DATACLASS_CLIENT = """
    from dataclasses import dataclass
    from crmhub import hookimpl

    @dataclass
    class Client:
        subdomain: str
        api_token: str

    @hookimpl
    def crm_name():
        return "dcclient"

    @hookimpl
    def crm_client(settings, config_dir):
        return Client(settings["subdomain"], settings["api_token"])
"""
BROKEN = {"broken": BROKEN_IMPORT, "wrongsig": WRONG_SIGNATURE, "unknownhook": UNKNOWN_HOOK}


class FakeSite:
    """A folder on ``sys.path`` holding throwaway plugin distributions."""

    def __init__(self, root: Path):
        self.root = root
        self.prefix = f"crmhub_fake_{uuid.uuid4().hex[:8]}_"

    def add(self, entry_name: str, source: str, version: str = "1.2.3") -> str:
        module = self.prefix + entry_name
        (self.root / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        info = self.root / f"{module}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: {version}\n", encoding="utf-8")
        (info / "entry_points.txt").write_text(f"[crmhub]\n{entry_name} = {module}\n", encoding="utf-8")
        return module


@pytest.fixture
def site(tmp_path, monkeypatch):
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    fake = FakeSite(root)
    yield fake
    for name in [name for name in sys.modules if name.startswith(fake.prefix)]:
        del sys.modules[name]


def only(*names: str, **extra: str) -> dict[str, str]:
    return {"CRMHUB_LOAD_PLUGINS": ",".join(names), **extra}


def info_of(loaded: Any, name: str) -> Any:
    (info,) = [info for info in loaded.infos if info.name == name]
    return info


# --- broken plugins -------------------------------------------------------------------------------


def test_a_plugin_that_fails_to_import_is_reported_and_the_others_load(site):
    site.add("fakecrm", GOOD_CRM)
    site.add("broken", BROKEN_IMPORT)
    site.add("tagsonly", TAGS_ONLY)
    loaded = load_plugins(environ=only("builtin", "local", "fakecrm", "broken", "tagsonly"))
    assert loaded.errors == {"broken": "RuntimeError: the vendor SDK is missing"}
    good = info_of(loaded, "fakecrm")
    assert (good.error, good.crm, good.version) == (None, "fakecrm", "1.2.3")
    assert good.hooks == ["crm_client", "crm_name", "format_tags"]
    assert info_of(loaded, "tagsonly").crm is None
    assert set(loaded.hooks.crm_plugins()) == {"local", "fakecrm"}
    assert loaded.hooks.for_crm("fakecrm").format_tags(["a"]) == ["A"]


def test_a_hook_with_an_argument_the_spec_does_not_have_is_reported_and_left_out(site):
    site.add("fakecrm", GOOD_CRM)
    site.add("wrongsig", WRONG_SIGNATURE)
    loaded = load_plugins(environ=only("builtin", "fakecrm", "wrongsig"))
    assert set(loaded.errors) == {"wrongsig"}
    assert "find_open_record" in loaded.errors["wrongsig"] and "region" in loaded.errors["wrongsig"]
    assert loaded.pm.get_plugin("wrongsig") is None
    assert set(loaded.hooks.crm_plugins()) == {"fakecrm"}, "no hook of the refused plugin may stay registered"


def test_a_hook_the_spec_does_not_have_is_reported_and_left_out(site):
    site.add("unknownhook", UNKNOWN_HOOK)
    loaded = load_plugins(environ=only("builtin", "local", "unknownhook"))
    assert set(loaded.errors) == {"unknownhook"}
    assert "find_open_records" in loaded.errors["unknownhook"]
    assert loaded.pm.get_plugin("unknownhook") is None
    assert set(loaded.hooks.crm_plugins()) == {"local"}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_strict_mode_raises_a_plugin_error_naming_the_plugin(site, name):
    site.add(name, BROKEN[name])
    with pytest.raises(PluginError) as caught:
        load_plugins(environ=only("builtin", name, CRMHUB_STRICT_PLUGINS="1"))
    assert repr(name) in str(caught.value)


@pytest.mark.parametrize("value", ["", "0"])
def test_strict_mode_is_off_unless_asked(site, value):
    site.add("broken", BROKEN_IMPORT)
    loaded = load_plugins(environ=only("builtin", "broken", CRMHUB_STRICT_PLUGINS=value))
    assert set(loaded.errors) == {"broken"}


# --- choosing which plugins load ------------------------------------------------------------------


def test_load_plugins_is_an_allow_list_that_also_covers_the_builtins(site):
    site.add("fakecrm", GOOD_CRM)
    site.add("tagsonly", TAGS_ONLY)
    loaded = load_plugins(environ=only("fakecrm"))
    assert [info.name for info in loaded.infos] == ["fakecrm"]
    loaded = load_plugins(environ=only("local", "tagsonly"))
    assert sorted(info.name for info in loaded.infos) == ["local", "tagsonly"]


def test_disable_plugins_is_a_block_list(site):
    site.add("fakecrm", GOOD_CRM)
    site.add("tagsonly", TAGS_ONLY)
    loaded = load_plugins(environ={"CRMHUB_DISABLE_PLUGINS": "fakecrm, local"})
    names = {info.name for info in loaded.infos}
    assert {"builtin", "tagsonly"} <= names
    assert not names & {"fakecrm", "local"}
    with pytest.raises(PluginError, match="'local'"):
        loaded.hooks.for_crm("local")


def test_a_blocked_name_wins_over_an_allowed_one(site):
    site.add("fakecrm", GOOD_CRM)
    loaded = load_plugins(environ=only("builtin", "fakecrm", CRMHUB_DISABLE_PLUGINS="fakecrm"))
    assert [info.name for info in loaded.infos] == ["builtin"]


# --- tracing --------------------------------------------------------------------------------------


def test_tracing_logs_hook_calls_with_secrets_redacted(site, tmp_path, caplog):
    site.add("fakecrm", GOOD_CRM)
    loaded = load_plugins(environ=only("builtin", "fakecrm", CRMHUB_TRACE_PLUGINS="1"))
    settings = {"subdomain": "acme", "api_token": "tok-SECRET-1", "auth": {"password": "pw-SECRET-2"}}
    caplog.set_level(logging.INFO, logger="crmhub.plugins.trace")
    client = loaded.hooks.for_crm("fakecrm").client(settings, tmp_path)
    assert client["api_token"] == "tok-SECRET-1"
    log = "\n".join(record.getMessage() for record in caplog.records if record.name == "crmhub.plugins.trace")
    assert "call crm_client(" in log and "crm_client returned" in log
    assert "acme" in log and "***" in log
    assert "SECRET" not in log


def test_tracing_logs_raised_errors(site, tmp_path, caplog):
    site.add("fakecrm", GOOD_CRM)
    loaded = load_plugins(environ=only("builtin", "fakecrm", CRMHUB_TRACE_PLUGINS="1"))
    caplog.set_level(logging.INFO, logger="crmhub.plugins.trace")
    with pytest.raises(TypeError):
        loaded.hooks.for_crm("fakecrm").client(None, tmp_path)
    assert any("crm_client raised TypeError" in record.getMessage() for record in caplog.records)


def test_tracing_never_shows_the_client_object(site, tmp_path, caplog):
    site.add("dcclient", DATACLASS_CLIENT)
    loaded = load_plugins(environ=only("builtin", "dcclient", CRMHUB_TRACE_PLUGINS="1"))
    caplog.set_level(logging.INFO, logger="crmhub.plugins.trace")
    loaded.hooks.for_crm("dcclient").client({"subdomain": "acme", "api_token": "tok-SECRET-3"}, tmp_path)
    assert "tok-SECRET-3" not in "\n".join(record.getMessage() for record in caplog.records)


def test_no_trace_unless_asked(site, tmp_path, caplog):
    site.add("fakecrm", GOOD_CRM)
    loaded = load_plugins(environ=only("builtin", "fakecrm"))
    caplog.set_level(logging.INFO, logger="crmhub.plugins.trace")
    loaded.hooks.for_crm("fakecrm").client({"subdomain": "acme"}, tmp_path)
    assert not [record for record in caplog.records if record.name == "crmhub.plugins.trace"]


# --- several CRM plugins side by side -------------------------------------------------------------

AT = datetime(2026, 11, 25, 9, 30, tzinfo=timezone.utc)
SESSION = Session(
    id="call-1", channel="call", session_type="Voice Inbound (IVR)",
    leaf_queue=LeafQueue("q-1"), end_user=EndUser(id="u-1"),
)


@dataclass(eq=False)  # plugins must stay hashable for pluggy
class FakeCrm:
    """A CRM plugin that records which of its hooks were called."""

    key: str
    calls: list[str] = field(default_factory=list)

    def _record(self, status: str = "open") -> CrmRecord:
        return CrmRecord(crm=self.key, id=f"{self.key}-1", status=status, crm_status=status)

    @hookimpl
    def crm_name(self) -> str:
        return self.key

    @hookimpl
    def crm_settings_schema(self) -> Any:
        self.calls.append("crm_settings_schema")
        return f"schema of {self.key}"

    @hookimpl
    def crm_client(self, settings: Any, config_dir: Path) -> Any:
        self.calls.append("crm_client")
        return f"client of {self.key}"

    @hookimpl
    def find_open_record(self, client: Any, query: RecordQuery) -> CrmRecord:
        self.calls.append("find_open_record")
        return self._record()

    @hookimpl
    def create_record(self, client: Any, record: NewRecord) -> CrmRecord:
        self.calls.append("create_record")
        return self._record()

    @hookimpl
    def append_session(self, client: Any, record: CrmRecord, note: SessionNote) -> CrmRecord:
        self.calls.append("append_session")
        return self._record()

    @hookimpl
    def reopen(self, client: Any, record: CrmRecord, note: SessionNote) -> CrmRecord:
        self.calls.append("reopen")
        return self._record()

    @hookimpl
    def find_record_for_session(self, client: Any, session_id: str) -> CrmRecord:
        self.calls.append("find_record_for_session")
        return self._record()

    @hookimpl
    def format_tags(self, tags: list[str]) -> list[str]:
        self.calls.append("format_tags")
        return [f"{self.key}:{tag}" for tag in tags]


class Observer:
    """Not a CRM: watches every create and adds a tag, as any plugin may."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    @hookimpl(hookwrapper=True)
    def create_record(self, client: Any, record: NewRecord) -> Any:
        self.seen.append(client)
        yield

    @hookimpl
    def session_tags(self, session: Session, settings: RecordCreationSettings) -> list[str]:
        return ["observed"]


@pytest.fixture
def two_crms():
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    a, b, observer = FakeCrm("a"), FakeCrm("b"), Observer()
    pm.register(builtin, name="builtin")
    pm.register(a, name="plugin-a")
    pm.register(b, name="plugin-b")
    pm.register(observer, name="observer")
    return PluginHooks(pm), a, b, observer


def exercise(hooks: Any, tmp_path: Path) -> list[Any]:
    record = CrmRecord(crm="x", id="r-1", status="open", crm_status="open")
    note = SessionNote(session=SESSION, text="note", tags=(), at=AT, idempotency_key="k")
    schema = hooks.settings_schema()
    client = hooks.client({}, tmp_path)
    return [
        schema,
        client,
        hooks.find_open_record(client, RecordQuery(end_user=SESSION.end_user, leaf_queue=SESSION.leaf_queue, at=AT)),
        hooks.create_record(client, NewRecord(SESSION, "t", "d", (), "k", AT)),
        hooks.append_session(client, record, note),
        hooks.reopen(client, record, note),
        hooks.find_record_for_session(client, SESSION.id),
        hooks.format_tags(["x"]),
    ]


@pytest.mark.parametrize("selected", ["a", "b"])
def test_only_the_selected_crm_plugin_acts(two_crms, tmp_path, selected):
    hooks, a, b, observer = two_crms
    chosen, other = (a, b) if selected == "a" else (b, a)
    crm = hooks.for_crm(selected)
    assert crm.plugin_name == f"plugin-{selected}"
    results = exercise(crm, tmp_path)
    assert chosen.calls == [
        "crm_settings_schema", "crm_client", "find_open_record", "create_record",
        "append_session", "reopen", "find_record_for_session", "format_tags",
    ]
    assert other.calls == []
    assert results[0] == f"schema of {selected}" and results[1] == f"client of {selected}"
    assert all(r.crm == selected for r in results[2:7])
    assert results[7] == [f"{selected}:x"]
    assert observer.seen == [f"client of {selected}"]


def test_a_plugin_that_is_not_a_crm_takes_part(two_crms):
    hooks, *_ = two_crms
    settings = RecordCreationSettings(add_session_type_tag=True)
    assert hooks.session_tags(SESSION, settings) == ["Voice Inbound (IVR)", "observed"]


def test_an_unknown_crm_is_a_plugin_error_listing_the_installed_ones(two_crms):
    hooks, *_ = two_crms
    with pytest.raises(PluginError) as caught:
        hooks.for_crm("c")
    assert "'c'" in str(caught.value) and "a, b" in str(caught.value)


def test_a_missing_hook_of_the_selected_crm_is_a_plugin_error_naming_it(tmp_path):
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    pm.register(FakeCrm("a"), name="plugin-a")

    class Partial:
        @hookimpl
        def crm_name(self) -> str:
            return "partial"

    pm.register(Partial(), name="plugin-partial")
    crm = PluginHooks(pm).for_crm("partial")
    with pytest.raises(PluginError) as caught:
        crm.create_record(None, NewRecord(SESSION, "t", "d", (), "k", AT))
    assert "plugin-partial" in str(caught.value) and "create_record" in str(caught.value)


def test_two_plugins_declaring_the_same_crm_never_act_together():
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    first, second = FakeCrm("dup"), FakeCrm("dup")
    pm.register(first, name="plugin-first")
    pm.register(second, name="plugin-second")
    try:
        crm = PluginHooks(pm).for_crm("dup")
    except PluginError as error:  # refusing the ambiguous key is as good as picking one
        assert "plugin-first" in str(error) and "plugin-second" in str(error)
        return
    crm.format_tags(["x"])
    named, other = (first, second) if crm.plugin_name == "plugin-first" else (second, first)
    assert (named.calls, other.calls) == (["format_tags"], [])
