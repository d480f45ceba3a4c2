"""Every hook in the plugin contract has a test that calls it.

What counts, precisely: a hook is tested when its name is *called* somewhere in the test code, as
``something.<hook>(...)`` or ``<hook>(...)``: in ``crmhub/testing/suite.py`` (the ConnectorSuite,
whose tests every CRM plugin runs, calling the hooks through the facade) or in one of crmhub's
own test modules, ``tests/test_*.py``. Calls are found in the syntax tree, so a hook that is only
defined (a fake plugin's ``def create_record``), named in a string or mentioned in a comment does
not count. A new hook spec without such a call fails here until its test is written.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterable
from pathlib import Path

from crmhub.core import hookspecs

ROOT = Path(__file__).resolve().parent.parent
SPEC_MARK = hookspecs.PROJECT_NAME + "_spec"


def hook_names() -> list[str]:
    """The hooks declared in :mod:`crmhub.core.hookspecs`."""
    return sorted(
        name for name, function in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(function, SPEC_MARK)
    )


def sources_of_tests() -> list[Path]:
    """Where a hook's test may live: the ConnectorSuite and crmhub's own test modules."""
    return [ROOT / "crmhub" / "testing" / "suite.py", *sorted((ROOT / "tests").glob("test_*.py"))]


def called_names(source: str) -> set[str]:
    """The names of everything called in ``source``: ``f(...)`` gives ``f``, ``a.b.f(...)`` gives ``f``."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute):
                names.add(node.func.attr)
            elif isinstance(node.func, ast.Name):
                names.add(node.func.id)
    return names


def untested_hooks(hooks: Iterable[str], sources: Iterable[Path]) -> list[str]:
    """The hooks no source calls by name, in the order given."""
    called: set[str] = set()
    for path in sources:
        called |= called_names(path.read_text(encoding="utf-8"))
    return [hook for hook in hooks if hook not in called]


def test_the_hooks_and_the_test_sources_are_found() -> None:
    assert {"crm_name", "create_record", "find_open_record", "session_tags"} <= set(hook_names())
    sources = sources_of_tests()
    assert sources[0].is_file() and len(sources) > 10


def test_every_hook_is_called_by_a_test() -> None:
    assert untested_hooks(hook_names(), sources_of_tests()) == []


# --- the check itself can fail ----------------------------------------------------------------------


def test_a_hook_nobody_calls_is_reported() -> None:
    hooks = ["create_record", "summon_record_from_thin_air", "find_open_record"]
    assert untested_hooks(hooks, sources_of_tests()) == ["summon_record_from_thin_air"]


def test_defining_naming_or_mentioning_a_hook_is_not_calling_it(tmp_path: Path) -> None:
    source = tmp_path / "test_fake.py"
    source.write_text(
        "# reopen is tested elsewhere\n"
        "def reopen(client, record, note):\n"
        "    return 'format_tags'\n"
        "HOOK = 'find_open_record'\n"
        "hooks.create_record(client, record)\n"
        "append_session(client, record, note)\n"
    )
    assert untested_hooks(
        ["reopen", "format_tags", "find_open_record", "create_record", "append_session"], [source]
    ) == ["reopen", "format_tags", "find_open_record"]
