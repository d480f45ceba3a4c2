"""Where the third-party CRM payloads live: real vendor responses published by other projects.

They sit beside the project, never inside it (``../shared/third-party-fixtures`` from the repository
root), or wherever ``CRMHUB_THIRD_PARTY_FIXTURES`` points. Under CI (``CI=true``) they must be
there, so a test that depends on them can never be skipped silently; elsewhere such tests skip.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

ENV_VAR = "CRMHUB_THIRD_PARTY_FIXTURES"
RELATIVE_LOCATION = Path("..") / "shared" / "third-party-fixtures"


class ThirdPartyFixturesMissing(FileNotFoundError):
    """The third-party fixtures could not be found where they are required."""


def _starting_points() -> list[Path]:
    """The repository root this crmhub was installed from (editable installs), and the cwd."""
    import crmhub

    return [Path(crmhub.__file__).resolve().parent.parent, Path.cwd().resolve()]


def find_third_party_fixtures(environ: Mapping[str, str] | None = None) -> Path | None:
    """The fixtures folder, or None. The env var wins; else walk up from the repository root and
    the current folder looking for ``../shared/third-party-fixtures``."""
    environ = os.environ if environ is None else environ
    configured = environ.get(ENV_VAR)
    if configured:
        path = Path(configured).expanduser()
        if not path.is_dir():
            raise ThirdPartyFixturesMissing(f"{ENV_VAR} names {configured!r}, which is not a folder")
        return path.resolve()
    for start in _starting_points():
        for folder in (start, *start.parents):
            candidate = folder / RELATIVE_LOCATION
            if candidate.is_dir():
                return candidate.resolve()
    return None


def running_in_ci(environ: Mapping[str, str] | None = None) -> bool:
    environ = os.environ if environ is None else environ
    return environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def third_party_fixtures_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The fixtures folder. Absent: an error under CI, a skip of the calling test elsewhere
    (also usable at module level, where it skips the whole module)."""
    found = find_third_party_fixtures(environ)
    if found is not None:
        return found
    message = (
        f"third-party fixtures not found: set {ENV_VAR} or place them at {RELATIVE_LOCATION.as_posix()} "
        "beside the repository"
    )
    if running_in_ci(environ):
        raise ThirdPartyFixturesMissing(message + " (required under CI)")
    import pytest

    pytest.skip(message, allow_module_level=True)
