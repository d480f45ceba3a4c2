"""Every CRM plugin shipped in plugins/ is listed by `crmhub plugins` with its version and hooks.

scripts/test.sh installs them all; run elsewhere without them, the test skips (under CI it fails).
"""

import json
import os
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHIPPED = sorted(path.parent for path in (REPO / "plugins").glob("*/pyproject.toml"))
CRM_HOOKS = {
    "crm_name", "crm_settings_schema", "crm_client", "find_open_record", "create_record",
    "append_session", "reopen", "find_record_for_session", "format_tags",
}


def _project(folder: Path) -> dict:
    return tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))["project"]


@pytest.fixture(scope="module")
def listed() -> dict[str, dict]:
    result = subprocess.run(
        [sys.executable, "-m", "crmhub", "plugins", "--json"], capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return {info["name"]: info for info in json.loads(result.stdout)}


def test_four_crm_plugins_are_shipped():
    assert [folder.name for folder in SHIPPED] == ["freshdesk", "kustomer", "salesforce", "zendesk"]


@pytest.mark.parametrize("folder", SHIPPED, ids=lambda folder: folder.name)
def test_each_shipped_plugin_is_listed_with_its_version_and_crm_hooks(folder: Path, listed: dict[str, dict]):
    project = _project(folder)
    try:
        installed = metadata.version(project["name"])
    except metadata.PackageNotFoundError:
        if os.environ.get("CI"):
            pytest.fail(f"{project['name']} is not installed: scripts/test.sh installs every plugin")
        pytest.skip(f"{project['name']} is not installed here")
    entry = project["entry-points"]["crmhub"]
    (name,) = entry
    info = listed[name]
    assert info["version"] == installed == project["version"]
    assert info["crm"] == name and info["error"] is None
    assert CRM_HOOKS <= set(info["hooks"])
