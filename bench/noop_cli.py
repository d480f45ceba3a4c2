"""``python bench/noop_cli.py ARGS...``: the ``crmhub`` command line with the no-op CRM plugin added.

The plugin is offered to crmhub's loader as one more entry point (``crmhub.testing.register_plugin``),
so ``[crm] plugin = "noop"`` in a settings file selects it and everything else is the real CLI:
argument parsing, the streaming replay pipeline, the dispatcher and the SQLite store.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import noop_crm  # noqa: E402
from crmhub.cli import main  # noqa: E402
from crmhub.testing import register_plugin  # noqa: E402


def run(argv: list[str]) -> None:
    with register_plugin(noop_crm, noop_crm.CRM_KEY):
        main(argv)


if __name__ == "__main__":
    run(sys.argv[1:])
