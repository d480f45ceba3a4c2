"""The hook specs' docstrings are the plugin authors' reference (SPEC section 6): keep them complete.

Each hook must have a docstring, a ``:return:`` (unless it returns nothing), a ``:param x:`` for
exactly the arguments of its signature, and, when it stops at the first result, the sentence
that says so.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import pytest

from crmhub.core import hookspecs

FIRSTRESULT_SENTENCE = "Stops at the first non-None result."
_PARAM = re.compile(r":param\s+(?:[^:\s]+\s+)?(\w+)\s*:")
SPEC_MARK = hookspecs.PROJECT_NAME + "_spec"


def hook_specs() -> dict[str, Callable[..., Any]]:
    return {
        name: function
        for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(function, SPEC_MARK)
    }


def is_pure_declaration(function: Callable[..., Any]) -> bool:
    """A hook that returns nothing: annotated ``-> None``."""
    return inspect.signature(function).return_annotation in (None, "None")


def documentation_problems(function: Callable[..., Any], firstresult: bool) -> list[str]:
    """Everything missing or wrong in one hook's docstring (empty when it is complete)."""
    doc = inspect.getdoc(function)
    if not doc:
        return ["no docstring"]
    problems = []
    if ":return:" not in doc and not is_pure_declaration(function):
        problems.append("no :return:")
    documented = _PARAM.findall(doc)
    actual = list(inspect.signature(function).parameters)
    for name in sorted(set(actual) - set(documented)):
        problems.append(f"parameter {name!r} is not documented")
    for name in sorted(set(documented) - set(actual)):
        problems.append(f":param {name}: documents a parameter that does not exist")
    for name in sorted({n for n in documented if documented.count(n) > 1}):
        problems.append(f":param {name}: is documented twice")
    if firstresult and FIRSTRESULT_SENTENCE not in " ".join(doc.split()):
        problems.append(f"firstresult hook without {FIRSTRESULT_SENTENCE!r}")
    return problems


def test_the_hook_specs_are_found():
    assert {
        "crm_name", "crm_settings_schema", "crm_client", "find_open_record", "create_record",
        "append_session", "reopen", "find_record_for_session", "format_tags", "session_tags",
    } <= set(hook_specs())


@pytest.mark.parametrize("name", sorted(hook_specs()))
def test_every_hook_is_fully_documented(name):
    function = hook_specs()[name]
    firstresult = bool(getattr(function, SPEC_MARK).get("firstresult"))
    assert documentation_problems(function, firstresult) == []


# --- the checker itself catches each kind of gap ----------------------------------------------------


def _documented(client: Any, query: Any) -> Any:
    """Look something up.

    Stops at the first non-None result.

    :param client: the client.
    :param query: the query.
    :return: the thing.
    """


def _no_docstring(client: Any) -> Any:
    pass


def _no_return(client: Any) -> Any:
    """Do something.

    :param client: the client.
    """


def _declaration(client: Any) -> None:
    """Tell the plugins something; nothing comes back.

    :param client: the client.
    """


def _missing_param(client: Any, query: Any) -> Any:
    """Do something.

    :param client: the client.
    :return: the thing.
    """


def _extra_param(client: Any) -> Any:
    """Do something.

    :param client: the client.
    :param region: a parameter the signature does not have.
    :return: the thing.
    """


def _split_sentence(client: Any) -> Any:
    """Do something. Stops at the first
    non-None result.

    :param client: the client.
    :return: the thing.
    """


@pytest.mark.parametrize(
    "function, firstresult, expected",
    [
        (_documented, True, []),
        (_declaration, False, []),
        (_split_sentence, True, []),
        (_no_docstring, False, ["no docstring"]),
        (_no_return, False, ["no :return:"]),
        (_missing_param, False, ["parameter 'query' is not documented"]),
        (_extra_param, False, [":param region: documents a parameter that does not exist"]),
        (_no_return, True, ["no :return:", f"firstresult hook without {FIRSTRESULT_SENTENCE!r}"]),
    ],
)
def test_the_checker_reports_each_gap(function, firstresult, expected):
    assert documentation_problems(function, firstresult) == expected
