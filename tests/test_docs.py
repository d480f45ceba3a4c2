"""The README stays true: its Python example runs and prints what it shows, every ``crmhub``
command it shows exists, its settings snippets pass ``config check``, and its ``[record_creation]``
table matches the settings crmhub actually has."""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import click
import pytest

from crmhub.cli import cli
from crmhub.core.settings import RecordCreationSettings
from crmhub.plugins import load_plugins

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
EXAMPLE = ROOT / "examples" / "host_example.py"
FENCED = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
PLACEHOLDER = re.compile(r"[A-Z][A-Z_.]*")


def run(*command: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CRMHUB_")}
    return subprocess.run(
        list(command), cwd=cwd, capture_output=True, text=True, env={**environ, **(env or {})}, timeout=120
    )


def section(title: str) -> str:
    """The README's text from the heading ``title`` to the next heading of the same or a higher level."""
    level = title.split(" ", 1)[0]
    start = README.index(f"\n{title}\n") + 1
    following = re.search(rf"^#{{1,{len(level)}}} ", README[start + len(title):], re.M)
    return README[start:start + len(title) + following.start()] if following else README[start:]


def blocks(text: str, language: str | None = None) -> list[str]:
    return [body for lang, body in FENCED.findall(text) if language is None or lang == language]


def test_the_python_api_example_is_the_file_and_prints_what_the_readme_shows(tmp_path: Path) -> None:
    api = section("## Python API")
    assert blocks(api, "python") == [EXAMPLE.read_text(encoding="utf-8")]
    result = run(sys.executable, str(EXAMPLE), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert blocks(api, "text") == [result.stdout]
    actions = [re.search(r'"action": "(\w+)"', line).group(1) for line in result.stdout.splitlines()
               if line.startswith("{")]
    assert actions == ["created", "skipped", "duplicate", "deferred", "deferred", "appended"]
    assert "evt-6: rejected, field type: " in result.stdout
    assert list(tmp_path.iterdir()) == []  # the example leaves nothing behind


def shown_commands() -> list[str]:
    """Every ``crmhub ...`` command line in a code block, and every inline ``crmhub ...`` span."""
    found = []
    for body in blocks(README):
        for line in body.splitlines():
            line = line.strip().removeprefix("$ ")
            if line.startswith("crmhub ") or line == "crmhub":
                found.append(line)
    prose = FENCED.sub("", README)
    found += re.findall(r"`(crmhub(?: [^`]*)?)`", prose)
    return sorted({" ".join(shlex.split(line, comments=True)) for line in found})


def command_path(line: str) -> list[str]:
    """The subcommand names of a shown command line, checked against crmhub's command tree."""
    tokens = shlex.split(line)[1:]
    command: click.Command = cli
    path: list[str] = []
    for token in tokens:
        if not isinstance(command, click.Group) or PLACEHOLDER.fullmatch(token):
            break
        if token.startswith(("-", "[")):  # an option, or an optional part written as in a usage line
            continue
        assert token in command.commands, f"{line!r}: crmhub {' '.join(path)} has no command {token!r}"
        command = command.commands[token]
        path.append(token)
    return path


def test_the_readme_shows_commands() -> None:
    paths = {tuple(command_path(line)) for line in shown_commands()}
    for expected in [("replay",), ("config", "check"), ("config", "init"), ("title", "preview"), ("records", "close")]:
        assert expected in paths


@pytest.mark.parametrize("line", shown_commands())
def test_every_command_the_readme_shows_exists(line: str, tmp_path: Path) -> None:
    path = command_path(line)
    result = run(sys.executable, "-m", "crmhub", *path, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Usage: crmhub {' '.join(path)}".rstrip())


def test_the_record_creation_table_lists_every_setting_with_its_default() -> None:
    table = section("### `[record_creation]`")
    rows = dict(re.findall(r"^\| `(\w+)` \| `([^`]*)`", table, re.M))
    defaults = RecordCreationSettings()
    assert set(rows) == {f.name for f in dataclasses.fields(RecordCreationSettings)}
    for key, shown in rows.items():
        assert tomllib.loads(f"v = {shown}")["v"] == getattr(defaults, key), key


def test_settings_keys_in_the_readme_exist() -> None:
    known = {f.name for f in dataclasses.fields(RecordCreationSettings)}
    for body in blocks(README, "toml"):
        written = tomllib.loads(body).get("record_creation", {})
        assert set(written) <= known, sorted(set(written) - known)


@pytest.mark.parametrize("snippet", blocks(README, "toml"))
def test_every_settings_snippet_passes_config_check(snippet: str, tmp_path: Path) -> None:
    crm = tomllib.loads(snippet).get("crm", {}).get("plugin", "local")
    if crm not in load_plugins().hooks.crm_plugins():
        pytest.skip(f"the {crm} plugin is not installed")
    (tmp_path / "crmhub.toml").write_text(snippet, encoding="utf-8")
    variables = {name: "a-secret-value" for name in re.findall(r'"env:(\w+)"', snippet)}
    result = run(sys.executable, "-m", "crmhub", "config", "check", cwd=tmp_path, env=variables)
    assert result.returncode == 0, result.stderr
    assert "a-secret-value" not in result.stdout + result.stderr
