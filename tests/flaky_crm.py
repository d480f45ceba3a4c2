"""A CRM that fails on command, and the dispatcher set-up around it, for the failure tests.

``FlakyCrm`` is a test CRM plugin, ``flaky``: it keeps its records exactly like the built-in
``local`` CRM but can be told to fail its next calls of a hook — before doing anything, or after
the work was done (a lost response). It keeps a log of the failures it produced, so that a test
knows what the CRM did even where crmhub never heard the answer. ``Crash`` stands for the process
dying inside a CRM call.

The pytest fixtures ``crm`` and ``plugins`` give a fresh ``FlakyCrm`` registered next to crmhub's
built-in plugin; a test module takes them by importing them. :func:`dispatchers` opens dispatchers
on it with both SQLite files in one folder.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from crmhub import Dispatcher
from crmhub import local_crm
from crmhub.core.hookspecs import hookimpl
from crmhub.local_records import LocalRecords
from crmhub.plugins import LoadedPlugins, load_plugins

AFTER_ANY_BACKOFF = datetime(2100, 1, 1, tzinfo=timezone.utc)  # every queued item is due by then


class Crash(BaseException):
    """Stands for the process dying between the CRM call and the store write.

    A ``BaseException``, so that no ``except Exception`` in crmhub can mistake it for a CRM error.
    """


@dataclass(frozen=True)
class Failure:
    """One failure the CRM produced: the hook, what it raised, whether it had done the work first,
    and the arguments of the call (``args[1]`` of ``create_record`` is the ``NewRecord``)."""

    hook: str
    error: BaseException
    work_done: bool
    args: tuple[Any, ...]


class FlakyCrm:
    """The local CRM, with scripted failures: ``fail(hook, error, after=False, times=1)``."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.failures: list[Failure] = []
        self._script: dict[str, list[tuple[BaseException, bool]]] = {}

    def fail(self, hook: str, error: BaseException, *, after: bool = False, times: int = 1) -> None:
        """Make the next ``times`` calls of ``hook`` raise ``error`` (after doing the work if ``after``)."""
        self._script.setdefault(hook, []).extend([(error, after)] * times)

    def heal(self) -> None:
        """Drop the failures planned and not yet produced."""
        self._script.clear()

    def planned(self) -> int:
        """How many planned failures have not happened yet."""
        return sum(len(planned) for planned in self._script.values())

    def _run(self, hook: str, work: Callable[..., Any], *args: Any) -> Any:
        self.calls[hook] += 1
        planned = self._script.get(hook)
        if not planned:
            return work(*args)
        error, after = planned.pop(0)
        if after:
            work(*args)
        self.failures.append(Failure(hook, error, after, args))
        raise error

    @hookimpl
    def crm_name(self) -> str:
        return "flaky"

    @hookimpl
    def crm_settings_schema(self) -> Any:
        return local_crm.LocalSettingsSchema()

    @hookimpl
    def crm_client(self, settings: Mapping[str, Any], config_dir: Path) -> LocalRecords:
        return local_crm.crm_client(settings, config_dir)

    @hookimpl
    def find_open_record(self, client: LocalRecords, query: Any) -> Any:
        return self._run("find_open_record", local_crm.find_open_record, client, query)

    @hookimpl
    def create_record(self, client: LocalRecords, record: Any) -> Any:
        return self._run("create_record", local_crm.create_record, client, record)

    @hookimpl
    def append_session(self, client: LocalRecords, record: Any, note: Any) -> Any:
        return self._run("append_session", local_crm.append_session, client, record, note)

    @hookimpl
    def reopen(self, client: LocalRecords, record: Any, note: Any) -> Any:
        return self._run("reopen", local_crm.reopen, client, record, note)

    @hookimpl
    def find_record_for_session(self, client: LocalRecords, session_id: str) -> Any:
        return self._run("find_record_for_session", local_crm.find_record_for_session, client, session_id)

    @hookimpl
    def format_tags(self, tags: list[str]) -> list[str]:
        return local_crm.format_tags(tags)


def flaky_plugins(crm: FlakyCrm) -> LoadedPlugins:
    """crmhub's built-in plugins with ``crm`` registered next to them as the ``flaky`` CRM."""
    loaded = load_plugins(environ={"CRMHUB_LOAD_PLUGINS": "builtin"})
    loaded.pm.register(crm, name="flaky")
    return loaded


def flaky_settings(folder: Path, **record_creation: Any) -> dict[str, Any]:
    """Settings for a dispatcher on the ``flaky`` CRM with both SQLite files in ``folder``."""
    return {
        "crm": {"plugin": "flaky", "flaky": {"path": str(folder / "records.db")}},
        "store": {"url": f"sqlite:///{folder / 'state.db'}"},
        "record_creation": record_creation,
    }


@contextmanager
def dispatchers(folder: Path, plugins: LoadedPlugins, **options: Any) -> Iterator[Callable[..., Dispatcher]]:
    """``make(**record_creation)`` opens a dispatcher on the flaky CRM in ``folder``; ``options``
    go to ``Dispatcher.from_config`` (``backoff``, ``clock``). Every one opened is closed at exit."""
    opened: list[Dispatcher] = []

    def make(**record_creation: Any) -> Dispatcher:
        dispatcher = Dispatcher.from_config(
            flaky_settings(folder, **record_creation), plugins=plugins, environ={}, **options
        )
        opened.append(dispatcher)
        return dispatcher

    try:
        yield make
    finally:
        for dispatcher in opened:
            dispatcher.close()


def stored_records(folder: Path) -> list[Any]:
    """Every record the flaky CRM in ``folder`` holds."""
    return LocalRecords(folder / "records.db").all()


def pending(dispatcher: Dispatcher) -> list[Any]:
    with dispatcher.store.transaction() as tx:
        return tx.pending_work()


def failed(dispatcher: Dispatcher) -> list[Any]:
    with dispatcher.store.transaction() as tx:
        return tx.failed_work()


@pytest.fixture
def crm() -> FlakyCrm:
    return FlakyCrm()


@pytest.fixture
def plugins(crm: FlakyCrm) -> LoadedPlugins:
    return flaky_plugins(crm)
