"""Writing a new CRM plugin distribution from the templates in ``crmhub/scaffold`` (``crmhub new-plugin``).

The plugin it writes is complete and tested as written: every CRM hook against a placeholder REST
API, recorded fixtures for the standard connector suite, and tests that pass before the author
changes a line. The author then replaces the placeholder API with the real one, file by file, as
the plugin's README lists.

The templates are package data, so this works from an installed crmhub as from a checkout. Each
template file ends in ``.tmpl`` (so that pytest never collects the template tests and setuptools
never byte-compiles them) and is rendered with :class:`string.Template`, with the keys of
:func:`template_values` (``${name}``, ``${module}``...; a literal dollar is ``$$``). Paths change on
the way: the ``package/`` folder becomes the module folder ``crmhub_NAME/``, and
``tests/test_X.py`` becomes ``tests/test_NAME_X.py``, because plugins' test files must have unique
names when every plugin's tests run together.
"""

from __future__ import annotations

import keyword
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path, PurePosixPath
from string import Template

TEMPLATE_SUFFIX = ".tmpl"
PACKAGE_FOLDER = "package"
NAME_RULE = re.compile(r"^[a-z][a-z0-9_]*$")
RESERVED_NAMES = frozenset({"builtin", "local"})
"""The built-in plugins' names: a plugin under one of them would never load."""


class NewPluginError(ValueError):
    """The plugin cannot be written (a bad name, or its folder exists); the message says why."""


def check_name(name: str) -> str:
    """``name`` if it can be a CRM key, an entry-point name and part of a module name; else
    :class:`NewPluginError` saying why not."""
    if not NAME_RULE.match(name):
        raise NewPluginError(
            f"{name!r} is not a lower-case identifier: use a-z, 0-9 and _, starting with a letter (e.g. 'acme')"
        )
    if keyword.iskeyword(name):
        raise NewPluginError(f"{name!r} is a Python keyword")
    if name in RESERVED_NAMES:
        raise NewPluginError(f"{name!r} is the name of a built-in crmhub plugin")
    return name


def crmhub_requirement(version: str) -> str:
    """The crmhub versions a new plugin accepts: the current minor release only
    (``0.1.3`` → ``crmhub>=0.1,<0.2``). Hooks may be deprecated and removed from one minor
    release to the next, so a plugin widens the range once it is tested against the next one."""
    major, minor = (int(part) for part in re.findall(r"\d+", version)[:2])
    return f"crmhub>={major}.{minor},<{major}.{minor + 1}"


def template_values(name: str) -> dict[str, str]:
    """What the templates may refer to, for the CRM key ``name``."""
    from crmhub import __version__

    words = name.replace("_", " ").split()
    return {
        "name": name,
        "module": f"crmhub_{name}",
        "distribution": f"crmhub-{name}",
        "title": " ".join(word.capitalize() for word in words),
        "class_prefix": "".join(word.capitalize() for word in words),
        "env_prefix": name.upper(),
        "crmhub_requirement": crmhub_requirement(__version__),
    }


def templates() -> Iterator[tuple[PurePosixPath, Traversable]]:
    """Every template file, with its path relative to the scaffold folder (all end in ``.tmpl``)."""
    pending: list[tuple[PurePosixPath, Traversable]] = [(PurePosixPath(), files("crmhub") / "scaffold")]
    while pending:
        relative, folder = pending.pop()
        for entry in folder.iterdir():
            if entry.is_dir():
                pending.append((relative / entry.name, entry))
            elif entry.name.endswith(TEMPLATE_SUFFIX):
                yield relative / entry.name, entry
            else:  # a file without the suffix would be left out of every plugin, silently
                raise RuntimeError(f"scaffold file {relative / entry.name} does not end in {TEMPLATE_SUFFIX}")


def target_path(template: PurePosixPath, name: str) -> PurePosixPath:
    """Where a template lands in the new distribution (see the module docstring)."""
    parts = list(template.with_name(template.name.removesuffix(TEMPLATE_SUFFIX)).parts)
    if parts[0] == PACKAGE_FOLDER:
        parts[0] = f"crmhub_{name}"
    if parts[0] == "tests" and parts[-1].startswith("test_") and parts[-1].endswith(".py"):
        parts[-1] = f"test_{name}_{parts[-1].removeprefix('test_')}"
    return PurePosixPath(*parts)


def render(name: str) -> dict[PurePosixPath, str]:
    """The files of the distribution for ``name``: path → text."""
    values = template_values(check_name(name))
    rendered = {}
    for template, source in templates():
        try:
            text = Template(source.read_text(encoding="utf-8")).substitute(values)
        except (KeyError, ValueError) as error:  # a broken template: crmhub's fault, not the user's
            raise RuntimeError(f"scaffold template {template} cannot be rendered: {error!r}") from error
        rendered[target_path(template, name)] = text
    if not rendered:
        raise RuntimeError("crmhub's scaffold templates are missing from this installation")
    return rendered


def write_plugin(name: str, output: Path) -> Path:
    """Write the distribution ``crmhub-NAME`` into ``output`` and return its folder.

    Refuses an existing folder. Files are written to a temporary folder beside it and moved into
    place at the end, so a failure never leaves half a plugin behind.
    """
    rendered = render(name)
    target = output / f"crmhub-{name}"
    if target.exists():
        raise NewPluginError(f"{target} already exists: choose another --output folder or remove it")
    output.mkdir(parents=True, exist_ok=True)
    staging = output / f".crmhub-{name}.partial-{secrets.token_hex(4)}"
    staging.mkdir()
    try:
        for relative, text in sorted(rendered.items()):
            path = staging.joinpath(*relative.parts)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target
