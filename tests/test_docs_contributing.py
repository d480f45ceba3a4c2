"""CONTRIBUTING.md is true to the code: every ``crmhub`` command in its code blocks exists with the
options it shows, every ``crmhub.testing`` name it mentions is exported, every dotted crmhub name,
error class and repository path it names exists, every hook is covered, and its examples parse.

Each checker returns the problems it finds, and is shown to find them in made-up text.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from importlib import import_module
from pathlib import Path
from typing import Any

import click
import pytest

import crmhub.testing
from crmhub.cli import cli
from crmhub.core import errors, hookspecs
from crmhub.testing.fixtures import validate_fixture

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "CONTRIBUTING.md"
SHELL_LANGUAGES = ("", "sh", "shell", "bash", "console")
_BLOCK = re.compile(r"^[ \t]*```(\w*)\n(.*?)^[ \t]*```", re.M | re.S)
_BACKTICKED = re.compile(r"`([^`\n]+)`")
_REPO_PATH = re.compile(r"^(?:crmhub|docs|scripts|tests|plugins|examples|\.ci)/[\w./-]*$")
_EXAMPLE_PARTS = ("acme", "NAME")
"""Paths with these are the generated plugin's, or placeholders, not this repository's."""


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def code_blocks(text: str, languages: tuple[str, ...]) -> list[str]:
    """The bodies of the fenced code blocks in ``languages`` (indented fences included)."""
    return [body for language, body in _BLOCK.findall(text) if language in languages]


def prose(text: str) -> str:
    """``text`` without its fenced code blocks."""
    return _BLOCK.sub("", text)


# --- commands ---------------------------------------------------------------------------------------


def crmhub_commands(text: str) -> list[list[str]]:
    """Each ``crmhub ...`` command line of the shell code blocks, as words (comments dropped)."""
    commands = []
    for block in code_blocks(text, SHELL_LANGUAGES):
        for line in block.splitlines():
            words = shlex.split(line.strip().removeprefix("$ "), comments=True)
            if words[:1] == ["crmhub"]:
                commands.append(words)
    return commands


def _option_names(command: click.Command) -> set[str]:
    names = {"-h", "--help"}
    for param in command.params:
        names.update(param.opts, param.secondary_opts)
    return names


def command_problems(words: list[str]) -> list[str]:
    """What does not exist in ``crmhub``'s command tree among ``words`` (``["crmhub", ...]``)."""
    shown = " ".join(words)
    command: click.Command = cli
    problems = []
    for word in words[1:]:
        if word.startswith("-"):
            option = word.split("=", 1)[0]
            if option not in _option_names(command):
                problems.append(f"{shown}: {command.name} has no option {option}")
        elif isinstance(command, click.Group):
            if word not in command.commands:
                return [*problems, f"{shown}: no command {word!r} in {command.name}"]
            command = command.commands[word]
    if isinstance(command, click.Group) and not command.invoke_without_command:
        problems.append(f"{shown}: {command.name} needs a subcommand")
    return problems


def test_every_crmhub_command_in_the_code_blocks_exists(doc: str) -> None:
    commands = crmhub_commands(doc)
    assert {words[1] for words in commands} >= {"new-plugin", "plugins", "config", "check"}
    assert [problem for words in commands for problem in command_problems(words)] == []


def test_the_command_check_catches_a_wrong_command_or_option() -> None:
    text = "```sh\ncrmhub new-plugn acme\ncrmhub plugins --jsn  # list\ncrmhub config\n```\n"
    assert [problem for words in crmhub_commands(text) for problem in command_problems(words)] == [
        "crmhub new-plugn acme: no command 'new-plugn' in cli",
        "crmhub plugins --jsn: plugins has no option --jsn",
        "crmhub config: config needs a subcommand",
    ]


# --- names ------------------------------------------------------------------------------------------


def kit_names(text: str) -> set[str]:
    """Names taken from ``crmhub.testing``: ``crmhub.testing.X`` and ``from crmhub.testing import X, Y``."""
    names = set(re.findall(r"\bcrmhub\.testing\.(\w+)", text))
    for imported in re.findall(r"^\s*from crmhub\.testing import ([\w, ]+)$", text, re.M):
        names.update(name.strip() for name in imported.split(","))
    return names


def unexported_kit_names(text: str) -> list[str]:
    return sorted(name for name in kit_names(text) if name not in crmhub.testing.__all__)


def test_every_crmhub_testing_name_is_exported(doc: str) -> None:
    assert {"ConnectorSuite", "Recorder", "replay", "samples", "scan_for_credentials"} <= kit_names(doc)
    assert unexported_kit_names(doc) == []
    for name in kit_names(doc):
        assert getattr(crmhub.testing, name) is not None


def test_the_export_check_catches_a_name_the_kit_does_not_export() -> None:
    text = "Use `crmhub.testing.Recorder`.\n```python\nfrom crmhub.testing import replay, Nonesuch\n```\n"
    assert unexported_kit_names(text) == ["Nonesuch"]


def resolves(dotted: str) -> bool:
    """Whether ``dotted`` names a module, or an attribute reached from the longest importable one."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: Any = import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for part in parts[cut:]:
                found = getattr(found, part)
        except AttributeError:
            return False
        return True
    return False


def unresolved_names(text: str) -> list[str]:
    """Backticked ``crmhub.x.y`` names and ``...Error`` classes that do not exist."""
    missing = []
    for quoted in _BACKTICKED.findall(prose(text)):
        name = quoted.split("(")[0]
        if re.fullmatch(r"crmhub(\.\w+)+", name) and not resolves(name):
            missing.append(name)
        elif re.fullmatch(r"\w+Error", name) and not (hasattr(errors, name) or name in crmhub.testing.__all__):
            missing.append(name)
    return sorted(set(missing))


def test_every_crmhub_name_and_error_class_exists(doc: str) -> None:
    assert unresolved_names(doc) == []


def test_the_name_check_catches_what_does_not_exist() -> None:
    text = "Use `crmhub.core.rules.pick_record`, not `crmhub.core.rules.pick_best`.\n"
    text += "Raise `TransientCrmError`, not `FlakyCrmError`.\n"
    assert unresolved_names(text) == ["FlakyCrmError", "crmhub.core.rules.pick_best"]


def test_every_hook_is_covered(doc: str) -> None:
    quoted = set(_BACKTICKED.findall(doc))
    hooks = [name for name, value in vars(hookspecs).items() if hasattr(value, hookspecs.PROJECT_NAME + "_spec")]
    assert [hook for hook in hooks if hook not in quoted] == []


# --- paths and examples -----------------------------------------------------------------------------


def missing_paths(text: str) -> list[str]:
    """Paths of this repository, backticked in the prose or run in a shell block, that do not exist."""
    shell_words = [word for block in code_blocks(text, SHELL_LANGUAGES) for word in shlex.split(block, comments=True)]
    paths = [
        candidate for candidate in [*_BACKTICKED.findall(prose(text)), *shell_words]
        if _REPO_PATH.match(candidate) and not any(part in candidate for part in _EXAMPLE_PARTS)
    ]
    return sorted({path for path in paths if not (ROOT / path).exists()})


def test_every_repository_path_exists(doc: str) -> None:
    assert missing_paths(doc) == []


def test_the_path_check_catches_a_missing_file() -> None:
    text = "Edit `crmhub/core/facade.py`, not `crmhub/core/hooks_door.py` or `crmhub_acme/plugin.py`.\n"
    text += "```sh\nbash scripts/test.sh\nbash scripts/tests.sh -x  # run\n```\n"
    assert missing_paths(text) == ["crmhub/core/hooks_door.py", "scripts/tests.sh"]


def test_the_examples_parse(doc: str) -> None:
    python = code_blocks(doc, ("python",))
    assert python
    for block in python:
        compile(block, "CONTRIBUTING.md", "exec")
    for block in code_blocks(doc, ("toml",)):
        tomllib.loads(block)
    [fixture] = code_blocks(doc, ("json",))
    validate_fixture(json.loads(fixture), "CONTRIBUTING.md")
