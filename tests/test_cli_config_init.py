"""``crmhub config init``: a commented settings file per CRM, generated from the schemas, that
passes ``config check`` once its environment variables are set."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from crmhub.core.settings import RecordCreationSchema, StoreSchema
from crmhub.plugins import load_plugins
from crmhub.settings_template import environment_variable

HOOKS = load_plugins().hooks
INSTALLED_CRMS = sorted(HOOKS.crm_plugins())
SHIPPED_CRMS = ("local", "zendesk", "freshdesk", "salesforce", "kustomer")
SECRET_VALUE = "s3cr3t-Value-9f2c"
_SECRET_NAME = re.compile(r"token|secret|password|api_?key|private_key", re.I)


def crmhub(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CRMHUB_")}
    return subprocess.run(
        [sys.executable, "-m", "crmhub", *args], cwd=cwd, capture_output=True, text=True,
        env={**environ, **(env or {})}, timeout=120,
    )


def schema_of(crm: str):  # type: ignore[no-untyped-def]
    return HOOKS.for_crm(crm).settings_schema()


def set_variables(text: str) -> list[str]:
    """The environment variables the file reads: ``env:NAME`` on lines that are not comments."""
    return [m.group(1) for line in text.splitlines() if not line.startswith("#")
            for m in re.finditer(r'"env:([A-Z0-9_]+)"', line)]


def test_the_shipped_crms_are_installed() -> None:
    missing = set(SHIPPED_CRMS) - set(INSTALLED_CRMS)
    if missing and os.environ.get("CI") == "true":
        pytest.fail(f"CRM plugins not installed: {sorted(missing)}")
    assert "local" in INSTALLED_CRMS


@pytest.mark.parametrize("crm", INSTALLED_CRMS)
def test_the_file_passes_config_check_once_its_variables_are_set(crm: str, tmp_path: Path) -> None:
    made = crmhub("config", "init", "--crm", crm, "--output", f"{crm}.toml", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    text = (tmp_path / f"{crm}.toml").read_text()
    variables = set_variables(text)
    for variable in variables:
        assert f"set the environment variable {variable}" in made.stdout
    assert f"crmhub config check {crm}.toml" in made.stdout

    checked = crmhub("config", "check", f"{crm}.toml", cwd=tmp_path, env={v: SECRET_VALUE for v in variables})
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith(f"ok: {crm}.toml\ncrm: {crm}\n")
    assert SECRET_VALUE not in checked.stdout + checked.stderr

    if variables:
        unset = crmhub("config", "check", f"{crm}.toml", cwd=tmp_path)
        assert unset.returncode == 2
        for variable in variables:
            assert f"environment variable {variable} is not set" in unset.stderr


@pytest.mark.parametrize("crm", INSTALLED_CRMS)
def test_every_key_is_listed_with_its_description_and_default(crm: str, tmp_path: Path) -> None:
    result = crmhub("config", "init", "--crm", crm, "--output", "-", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[lines.index("[crm]") + 2] == f'plugin = "{crm}"'
    sections = {f"crm.{crm}": schema_of(crm), "record_creation": RecordCreationSchema(), "store": StoreSchema()}
    for section, schema in sections.items():
        body = lines[lines.index(f"[{section}]") + 1:]
        body = body[:next((i for i, line in enumerate(body) if line.startswith("[")), len(body))]
        entries = {
            match.group(2): (i, match.group(1), line.lstrip("# "))
            for i, line in enumerate(body) if (match := re.match(r"^(# )?(\w+) = ", line))
        }
        assert set(entries) == set(schema.fields), section
        for name, schema_field in schema.fields.items():
            position, commented, assignment = entries[name]
            description = schema_field.metadata.get("description")
            if description:
                assert body[position - 1] == f"# {description}"
            value = tomllib.loads(assignment)[name]  # uncommented, every entry is valid TOML
            about = schema_field.metadata
            if about.get("secret"):
                assert value == f"env:{environment_variable(crm, name)}"
            if schema_field.required or about.get("set_in_template"):
                assert not commented, f"{section}.{name} must be set"
            else:
                assert commented, f"{section}.{name} must be commented out"
                if "  # " not in assignment:  # no "example" or "unset" note: the value is the default
                    default = schema_field.load_default
                    assert value == (default() if callable(default) else default), f"{section}.{name}"


@pytest.mark.parametrize("crm", SHIPPED_CRMS)
def test_shipped_schemas_describe_every_key_and_mark_every_secret(crm: str) -> None:
    if crm not in INSTALLED_CRMS:
        pytest.skip(f"the {crm} plugin is not installed")
    for schema in (schema_of(crm), RecordCreationSchema(), StoreSchema()):
        for name, schema_field in schema.fields.items():
            about = schema_field.metadata
            assert about.get("description"), f"{name} has no description"
            looks_secret = bool(_SECRET_NAME.search(name)) and not name.endswith("_file")
            assert bool(about.get("secret")) == looks_secret, f"{name}: secret is {about.get('secret')}"
            if schema_field.required and not about.get("secret"):
                assert "example" in about, f"required {name} needs an example to write"


def test_an_existing_file_is_kept_without_force_and_replaced_with_it(tmp_path: Path) -> None:
    target = tmp_path / "crmhub.toml"
    target.write_text("# mine\n")
    refused = crmhub("config", "init", "--crm", "local", cwd=tmp_path)
    assert refused.returncode == 2
    assert "crmhub.toml exists; use --force to overwrite it" in refused.stderr
    assert target.read_text() == "# mine\n"

    forced = crmhub("config", "init", "--crm", "local", "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert target.read_text().startswith("# crmhub settings for the CRM 'local'")
    assert crmhub("config", "check", cwd=tmp_path).returncode == 0


def test_an_unknown_crm_exits_2_listing_the_installed_ones(tmp_path: Path) -> None:
    result = crmhub("config", "init", "--crm", "acmedesk", cwd=tmp_path)
    assert result.returncode == 2
    assert "no installed plugin provides the CRM 'acmedesk'" in result.stderr
    assert f"(installed: {', '.join(INSTALLED_CRMS)})" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "crmhub.toml").exists()


def test_usage_errors_exit_2_without_a_traceback(tmp_path: Path) -> None:
    no_crm = crmhub("config", "init", cwd=tmp_path)
    assert no_crm.returncode == 2
    assert "Missing option '--crm'" in no_crm.stderr
    no_folder = crmhub("config", "init", "--crm", "local", "--output", "missing/crmhub.toml", cwd=tmp_path)
    assert no_folder.returncode == 2
    assert no_folder.stderr.startswith("Error: cannot write missing/crmhub.toml")
    for result in (no_crm, no_folder):
        assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []
