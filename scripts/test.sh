#!/usr/bin/env bash
# Run every test in one command: crmhub's own (tests/) and each plugin's (plugins/*/tests).
#
#   bash scripts/test.sh [PYTEST ARGS...]      e.g.  bash scripts/test.sh -x -k replay
#
# Creates .venv with `python3` (or $PYTHON) if missing, installs crmhub with its test extras and
# every plugin under plugins/ that has a pyproject.toml, all editable, then runs pytest. The exit
# code is pytest's.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python3}"
if [[ ! -x .venv/bin/python ]]; then
    "$PYTHON" -m venv .venv
fi

packages=(-e ".[test]")
test_paths=(tests)
for plugin in plugins/*/; do
    plugin="${plugin%/}"
    if [[ -f "$plugin/pyproject.toml" ]]; then
        packages+=(-e "$plugin")
    fi
    if [[ -d "$plugin/tests" ]]; then
        test_paths+=("$plugin/tests")
    fi
done
.venv/bin/python -m pip install --quiet --disable-pip-version-check "${packages[@]}"

exec .venv/bin/python -m pytest "${test_paths[@]}" "$@"
