"""The ``crmhub`` entry point: help, a fast start, and no tracebacks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HEAVY = ("crmhub.core.dispatcher", "crmhub.plugins", "crmhub.local_crm", "marshmallow", "requests", "pluggy")


def test_help_lists_the_commands_without_importing_the_heavy_parts(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "from crmhub.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit as done:\n    code = done.code\n"
        f"loaded = sorted(m for m in sys.modules if m in {HEAVY!r} or m.split('.')[0] in {HEAVY!r})\n"
        "print('LOADED', loaded, 'EXIT', code)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for command in ("replay", "plugins", "config", "records"):
        assert f"  {command} " in result.stdout
    assert "LOADED [] EXIT 0" in result.stdout


def test_usage_errors_exit_2_and_the_console_script_matches_python_m(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("crmhub")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "crmhub"]
    result = subprocess.run(
        [*command, "replay"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**os.environ, "CRMHUB_LOAD_PLUGINS": "builtin,local"},
    )
    assert result.returncode == 2
    assert "Missing argument 'EVENTS'" in result.stderr
    assert "Traceback" not in result.stderr
