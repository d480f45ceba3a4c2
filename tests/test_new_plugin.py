"""``crmhub new-plugin``: the plugin it writes installs, passes its own tests and loads.

The fast tests check the command's refusals and the rendered files. The installation tests do
what a third party would, in one fresh virtual environment (without system site packages): crmhub
installed from this repository's sources without ``-e`` (so the templates must travel as package
data of the built distribution), the generated plugin installed next to it, then the plugin's
own tests, ``crmhub plugins --json``, and CONTRIBUTING.md's fixture-recording snippet, all run with
that environment's interpreter. pip fetches the dependencies from the package index.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from crmhub.core import hookspecs
from crmhub.new_plugin import render
from crmhub.testing import load_fixture, scan_for_credentials
from crmhub.testing.fixtures import validate_fixture
from crmhub.testing.suite import FIXTURE_FILES

ROOT = Path(__file__).resolve().parent.parent
NAME = "acme"
SPEC_MARK = hookspecs.PROJECT_NAME + "_spec"
HOOKS = sorted(name for name, value in vars(hookspecs).items() if hasattr(value, SPEC_MARK))
CRM_HOOKS = [name for name in HOOKS if name != "session_tags"]
"""Every hook a CRM plugin implements (``session_tags`` is for plugins that contribute tags)."""


def run(
    command: list[Any], cwd: Path, env: dict[str, str] | None = None, timeout: int = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=timeout,
        env=env if env is not None else os.environ.copy(),
    )


def new_plugin(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "crmhub", "new-plugin", *args], cwd=cwd)


def succeeded(result: subprocess.CompletedProcess[str]) -> str:
    """The output of a command that must have succeeded (its output, cut, when it did not)."""
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result.stdout


# --- the command ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, why",
    [
        ("Acme", "is not a lower-case identifier"),
        ("my-crm", "is not a lower-case identifier"),
        ("2crm", "is not a lower-case identifier"),
        ("class", "is a Python keyword"),
        ("local", "is the name of a built-in crmhub plugin"),
    ],
)
def test_a_bad_name_is_refused_with_exit_2(tmp_path: Path, name: str, why: str) -> None:
    result = new_plugin(name, "--output", "out", cwd=tmp_path)
    assert result.returncode == 2
    assert why in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_an_existing_folder_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    existing = tmp_path / f"crmhub-{NAME}"
    existing.mkdir()
    (existing / "notes.txt").write_text("mine")
    result = new_plugin(NAME, cwd=tmp_path)
    assert result.returncode == 2
    assert "already exists" in result.stderr
    assert [p.name for p in existing.iterdir()] == ["notes.txt"] and (existing / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"crmhub-{NAME}"]  # no staging folder left behind


def test_the_plugin_is_written_where_asked_and_the_next_steps_are_shown(tmp_path: Path) -> None:
    output = succeeded(new_plugin("my_crm", "--output", "plugins", cwd=tmp_path))
    target = tmp_path / "plugins" / "crmhub-my_crm"
    assert (target / "crmhub_my_crm" / "plugin.py").is_file()
    connector_tests = (target / "tests" / "test_my_crm_connector.py").read_text()
    assert "class TestMyCrmConnector(ConnectorSuite):" in connector_tests
    assert "cd plugins/crmhub-my_crm\n" in output and "pip install -e '.[test]'" in output
    assert sorted(p.name for p in (tmp_path / "plugins").iterdir()) == ["crmhub-my_crm"]


# --- the rendered files -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rendered() -> dict[PurePosixPath, str]:
    return render(NAME)


def test_every_template_placeholder_is_filled_and_every_module_compiles(rendered: dict[PurePosixPath, str]) -> None:
    for path, text in rendered.items():
        assert not re.search(r"\$\{?[A-Za-z_]", text), f"{path} has an unfilled placeholder"
        if path.suffix == ".py":
            compile(text, str(path), "exec")


def test_the_distribution_declares_its_entry_point_and_pins_crmhub(rendered: dict[PurePosixPath, str]) -> None:
    import tomllib

    project = tomllib.loads(rendered[PurePosixPath("pyproject.toml")])["project"]
    assert project["name"] == f"crmhub-{NAME}"
    assert project["entry-points"]["crmhub"] == {NAME: f"crmhub_{NAME}.plugin"}
    assert "crmhub>=0.1,<0.2" in project["dependencies"]


def test_the_plugin_implements_every_crm_hook(rendered: dict[PurePosixPath, str]) -> None:
    plugin = rendered[PurePosixPath(f"crmhub_{NAME}/plugin.py")]
    implemented = re.findall(r"@hookimpl\ndef (\w+)\(", plugin)
    assert sorted(implemented) == CRM_HOOKS


def test_every_fixture_the_connector_suite_needs_is_there_and_valid(rendered: dict[PurePosixPath, str]) -> None:
    suite = {path.name for path in rendered if path.parent == PurePosixPath("tests/fixtures/suite")}
    assert set(FIXTURE_FILES) <= suite
    fixtures = [path for path in rendered if path.suffix == ".json"]
    assert {path.parent.name for path in fixtures} == {"suite", "check", "e2e"}
    for path in fixtures:
        validate_fixture(json.loads(rendered[path]), str(path))


# --- installed in a fresh environment ---------------------------------------------------------------


@dataclass
class Installed:
    venv: Path
    plugin: Path
    env: dict[str, str]

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"


def clean_environment() -> dict[str, str]:
    """This process's environment without what would leak into the new one: Python and pytest
    settings of this run, the active virtual environment, crmhub's plugin switches."""
    leaking = ("PYTHON", "PYTEST_", "VIRTUAL_ENV", "CRMHUB_")
    return {key: value for key, value in os.environ.items() if not key.startswith(leaking)}


def crmhub_sources(destination: Path) -> Path:
    """A copy of what building crmhub needs, so that pip builds it there and not in the working
    tree (an in-tree build writes ``build/`` and ``*.egg-info`` next to the sources)."""
    destination.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, destination / name)
    shutil.copytree(ROOT / "crmhub", destination / "crmhub", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return destination


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """crmhub installed from its sources, then the plugin written by *that* crmhub's
    ``new-plugin``, installed next to it with its test extras."""
    work = tmp_path_factory.mktemp("new-plugin")
    env = clean_environment()
    venv = work / "venv"
    succeeded(run([sys.executable, "-m", "venv", venv], cwd=work, env=env))
    pip = [venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    succeeded(run([*pip, crmhub_sources(work / "crmhub-sources")], cwd=work, env=env, timeout=900))
    succeeded(run([venv / "bin" / "crmhub", "new-plugin", NAME, "--output", "plugins"], cwd=work, env=env))
    plugin = work / "plugins" / f"crmhub-{NAME}"
    succeeded(run([*pip, f"{plugin}[test]"], cwd=work, env=env, timeout=900))
    return Installed(venv=venv, plugin=plugin, env=env)


def test_crmhub_is_installed_from_its_built_distribution(installed: Installed) -> None:
    probe = "import crmhub, pathlib; print(pathlib.Path(crmhub.__file__).resolve())"
    location = Path(succeeded(run([installed.python, "-c", probe], cwd=installed.venv, env=installed.env)).strip())
    assert installed.venv.resolve() in location.parents


def test_the_generated_tests_pass_as_generated(installed: Installed) -> None:
    output = succeeded(run(
        [installed.python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=installed.plugin, env=installed.env,
        timeout=600,
    ))
    summary = output.strip().splitlines()[-1]
    assert re.fullmatch(r"\d+ passed in [\d.]+s", summary), summary
    assert int(summary.split()[0]) >= len(FIXTURE_FILES)


def test_crmhub_plugins_lists_the_new_plugin_with_its_version_and_hooks(installed: Installed) -> None:
    command = [installed.venv / "bin" / "crmhub", "plugins", "--json"]
    listing = succeeded(run(command, cwd=installed.venv, env=installed.env))
    by_name = {info["name"]: info for info in json.loads(listing)}
    assert by_name[NAME] == {
        "name": NAME, "version": "0.1.0", "hooks": CRM_HOOKS, "crm": NAME, "error": None, "builtin": False,
    }


# --- CONTRIBUTING.md's recording snippet, run in that environment ----------------------------------


def recording_snippet() -> str:
    """The Python block of CONTRIBUTING.md that records a fixture with ``Recorder``."""
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    blocks = [block for block in re.findall(r"```python\n(.*?)```", text, re.S) if "Recorder(" in block]
    assert len(blocks) == 1, "CONTRIBUTING.md should hold one Python block that uses Recorder"
    return blocks[0]


@contextmanager
def sandbox(fixture: dict[str, Any]) -> Iterator[str]:
    """A local server standing in for a live account: it answers each request with the next
    response of ``fixture`` (a 500 once they run out) and yields its URL."""
    answers = [exchange["response"] for exchange in fixture["exchanges"]]
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                response = answers.pop(0) if answers else {"status": 500, "json": {"error": "no answer left"}}
            payload = json.dumps(response.get("json")).encode()
            self.send_response(response["status"])
            for name, value in response.get("headers", {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = answer  # noqa: N815 (http.server's names)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_the_recording_snippet_records_what_the_suite_replays(installed: Installed, tmp_path: Path) -> None:
    generated = load_fixture(installed.plugin / "tests" / "fixtures" / "suite" / "create_record.json")
    secret = "live-token-8c1f0e5d2b7a"
    script = tmp_path / "record_fixture.py"
    script.write_text(recording_snippet())
    with sandbox(generated) as url:
        env = {**installed.env, "ACME_SANDBOX_URL": url, "CRMHUB_ACME_API_TOKEN": secret}
        succeeded(run([installed.python, script], cwd=tmp_path, env=env))
    saved = tmp_path / "tests" / "fixtures" / "suite" / "create_record.json"
    text = saved.read_text()
    assert secret not in text and url not in text
    assert scan_for_credentials([saved]) == []
    recorded = load_fixture(saved)
    assert [e["request"] for e in recorded["exchanges"]] == [e["request"] for e in generated["exchanges"]]
    assert [(e["response"]["status"], e["response"]["json"]) for e in recorded["exchanges"]] == [
        (e["response"]["status"], e["response"]["json"]) for e in generated["exchanges"]
    ]
