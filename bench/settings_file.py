"""Writing a crmhub settings file (TOML) for the benchmarks that run the real command line."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    raise TypeError(f"no TOML form for {value!r} in the benchmarks' settings")


def write_settings(path: Path, crm: str, crm_settings: Mapping[str, Any], rules: Mapping[str, Any], store: str) -> Path:
    """``[crm]``, ``[crm.<crm>]``, ``[record_creation]`` and ``[store]`` (flat values only)."""
    sections = [
        ("crm", {"plugin": crm}),
        (f"crm.{crm}", crm_settings),
        ("record_creation", rules),
        ("store", {"url": store}),
    ]
    lines = []
    for name, values in sections:
        lines.append(f"[{name}]")
        lines += [f"{key} = {_value(value)}" for key, value in values.items()]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
