"""``crmhub plugins`` and ``crmhub --version`` with a broken plugin installed next to ``local``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def crmhub(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crmhub", *args], cwd=cwd, capture_output=True, text=True,
        env={**os.environ, **env}, timeout=120,
    )


@pytest.fixture()
def broken_site(tmp_path: Path) -> dict[str, str]:
    """A throwaway distribution whose ``crmhub`` entry point names a module that cannot import."""
    site = tmp_path / "site"
    dist = site / "crmhub_brokenx-0.3.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: crmhub-brokenx\nVersion: 0.3\n")
    (dist / "entry_points.txt").write_text("[crmhub]\nbrokenx = crmhub_brokenx\n")
    (site / "crmhub_brokenx.py").write_text('raise ImportError("needs the brokenx SDK")\n')
    return {"PYTHONPATH": str(site), "CRMHUB_LOAD_PLUGINS": "builtin,local,brokenx"}


def test_plugins_json_reports_the_broken_plugin_and_exits_0(tmp_path: Path, broken_site: dict[str, str]) -> None:
    strict = {**broken_site, "CRMHUB_STRICT_PLUGINS": "1"}  # listing is never strict
    result = crmhub("plugins", "--json", "--all", cwd=tmp_path, env=strict)
    assert result.returncode == 0, result.stderr
    by_name = {info["name"]: info for info in json.loads(result.stdout)}
    assert set(by_name) == {"builtin", "local", "brokenx"}
    assert by_name["brokenx"]["error"] == "ImportError: needs the brokenx SDK"
    assert by_name["brokenx"]["version"] == "0.3"
    assert by_name["local"]["error"] is None
    assert by_name["local"]["crm"] == "local"
    assert "create_record" in by_name["local"]["hooks"]


def test_plugins_table_hides_built_ins_unless_asked(tmp_path: Path, broken_site: dict[str, str]) -> None:
    table = crmhub("plugins", cwd=tmp_path, env=broken_site)
    assert table.returncode == 0
    assert "brokenx" in table.stdout and "failed to load: ImportError: needs the brokenx SDK" in table.stdout
    assert "local" not in table.stdout

    everything = crmhub("plugins", "--all", cwd=tmp_path, env=broken_site)
    rows = {row.split()[0]: row for row in everything.stdout.splitlines()[1:]}
    assert set(rows) == {"builtin", "local", "brokenx"}
    assert "find_open_record" in rows["local"] and rows["local"].endswith("ok")


def test_local_still_works_next_to_a_broken_plugin(tmp_path: Path, broken_site: dict[str, str]) -> None:
    (tmp_path / "crmhub.toml").write_text('[crm]\nplugin = "local"\n')
    event = {"id": "e1", "type": "session.assigned", "at": "2026-11-25T09:30:05Z", "session": {"id": "c1", "channel": "call"}}
    (tmp_path / "events.jsonl").write_text(json.dumps(event) + "\n")
    result = crmhub("replay", "events.jsonl", cwd=tmp_path, env=broken_site)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["action"] == "created"
    assert "plugin brokenx failed to load: ImportError: needs the brokenx SDK" in result.stderr


def test_version_lists_plugins_with_versions(tmp_path: Path, broken_site: dict[str, str]) -> None:
    result = crmhub("--version", cwd=tmp_path, env={**broken_site, "CRMHUB_STRICT_PLUGINS": "1"})
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("crmhub ") and lines[0].split()[1][0].isdigit()
    assert any(line.split()[:2] == ["brokenx", "0.3"] and "ImportError" in line for line in lines)
    assert any(line.split()[:2] == ["local", lines[0].split()[1]] for line in lines)
