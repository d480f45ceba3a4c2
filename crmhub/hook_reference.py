"""Render the hook reference (``docs/hooks.md``) from the hook specs' own docstrings.

The docstrings in :mod:`crmhub.core.hookspecs` are the single source; ``python -m
crmhub.hook_reference > docs/hooks.md`` regenerates the page and a test fails when the committed
page differs from what the specs say now.
"""

from __future__ import annotations

import inspect
import textwrap

from crmhub.core import hookspecs

HEADER = """# Hook reference

Generated from `crmhub/core/hookspecs.py` by `python -m crmhub.hook_reference > docs/hooks.md`;
do not edit by hand.
"""


def hook_functions() -> list[tuple[str, object]]:
    """Every hook spec, in the order the module declares them."""
    marker = hookspecs.PROJECT_NAME + "_spec"
    found = [(name, fn) for name, fn in vars(hookspecs).items() if callable(fn) and hasattr(fn, marker)]
    return sorted(found, key=lambda item: inspect.getsourcelines(item[1])[1])


def _signature(fn: object) -> str:
    """The signature as written in the source (annotations are strings under PEP 563)."""
    notes = dict(getattr(fn, "__annotations__", {}))
    returns = notes.pop("return", None)
    params = ", ".join(f"{name}: {annotation}" for name, annotation in notes.items())
    return f"({params})" + (f" -> {returns}" if returns else "")


def render() -> str:
    parts = [HEADER, textwrap.dedent(hookspecs.__doc__ or "").strip(), ""]
    for name, fn in hook_functions():
        options = getattr(fn, hookspecs.PROJECT_NAME + "_spec")
        signature = _signature(fn)
        flags = " (firstresult)" if options.get("firstresult") else ""
        parts += [
            f"## `{name}`{flags}",
            "",
            "```python",
            f"def {name}{signature}",
            "```",
            "",
            inspect.cleandoc(fn.__doc__ or ""),
            "",
        ]
    return "\n".join(parts).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
