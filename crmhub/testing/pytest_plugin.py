"""crmhub's pytest plugin (entry point ``pytest11``): fixtures for plugin authors' tests.

Loaded in every pytest run where crmhub is installed, so it imports nothing of crmhub until a
fixture is used.

``crmhub_plugin``
    ``crmhub_plugin(obj, name=None) -> name``: register a throwaway plugin for this test
    (see :func:`crmhub.testing.register_plugin`); removed at teardown.
``third_party_fixtures``
    the folder of real third-party CRM payloads (skips the test when absent, fails under CI).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest


@pytest.fixture
def crmhub_plugin() -> Iterator[Callable[..., str]]:
    from crmhub.testing.plugin_helper import register_plugin

    with ExitStack() as stack:

        def register(plugin: object, name: str | None = None) -> str:
            return stack.enter_context(register_plugin(plugin, name=name))

        yield register


@pytest.fixture
def third_party_fixtures() -> Path:
    from crmhub.testing.third_party import third_party_fixtures_dir

    return third_party_fixtures_dir()
