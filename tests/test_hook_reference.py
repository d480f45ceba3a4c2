"""The committed hook reference must be what the hook specs' docstrings say now."""

from pathlib import Path

from crmhub import hook_reference

REPO = Path(__file__).resolve().parents[1]


def test_docs_hooks_md_is_generated_from_the_specs():
    committed = (REPO / "docs" / "hooks.md").read_text(encoding="utf-8")
    assert committed == hook_reference.render(), (
        "docs/hooks.md is stale: run `python -m crmhub.hook_reference > docs/hooks.md`"
    )


def test_every_hook_appears_in_the_reference():
    page = hook_reference.render()
    names = [name for name, _ in hook_reference.hook_functions()]
    assert len(names) == 11
    for name in names:
        assert f"## `{name}`" in page
