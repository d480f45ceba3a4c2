"""``crmhub check`` for Freshdesk: the cheapest read-only calls that catch what an integrator can get wrong.

=====================================  ===============================================================
check                                  Freshdesk call, and what passes
=====================================  ===============================================================
``credentials``                        ``GET /api/v2/agents/me``: the helpdesk answers at ``base_url``
                                       (or ``domain``) and takes the API key
``permissions``                        the same answer: the agent has Global Access (``ticket_scope``
                                       1), since crmhub must see every ticket an end user requested
``queue_field cf_…``,                  ``GET /api/v2/ticket_fields`` (one call for both): the custom
``session_field cf_…``                 field exists and holds text (crmhub writes ids into it)
``group N``                            ``GET /api/v2/groups/{N}`` for each group ``groups`` names
=====================================  ===============================================================

Nothing else runs when the credentials fail. Failures carry Freshdesk's own words, never the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crmhub.core.errors import CrmError
from crmhub.core.models import CheckResult
from crmhub_freshdesk.client import FreshdeskHttp, body_of
from crmhub_freshdesk.connector import FreshdeskConnector

GLOBAL_ACCESS = 1
SCOPES = {2: "the tickets of their groups (Group Access)", 3: "the tickets assigned to them (Restricted Access)"}
TEXT_FIELD_TYPES = ("custom_text", "custom_paragraph")
NOT_FOUND = 404


def check_crm(connector: FreshdeskConnector) -> list[CheckResult]:
    """Every check that applies to the connector's settings, in order; see the module docstring."""
    http, settings = connector.http, connector.settings
    try:
        me = http.call_json("GET", "/agents/me", "read the API key's agent", dict)
    except CrmError as error:
        return [CheckResult("credentials", False, f"{error} ({http.url('')})")]
    contact = me.get("contact") if isinstance(me.get("contact"), Mapping) else {}
    results = [
        CheckResult("credentials", True, f"signed in at {settings.base_url} as {contact.get('name')} <{contact.get('email')}>"),
        _permissions(me),
    ]
    configured = (("queue_field", settings.queue_field), ("session_field", settings.session_field))
    fields = {key: name for key, name in configured if name}
    if fields:
        results += _custom_fields(http, fields)
    for group_id, queues in _queues_by_group(settings.groups).items():
        results.append(_group(http, group_id, queues))
    return results


def _permissions(me: Mapping[str, Any]) -> CheckResult:
    scope = me.get("ticket_scope")
    if scope == GLOBAL_ACCESS:
        return CheckResult("permissions", True, "Global Access to tickets")
    sees = (SCOPES.get(scope) if isinstance(scope, int) else None) or f"the tickets ticket_scope {scope!r} allows"
    return CheckResult(
        "permissions", False,
        f"the agent sees only {sees}: crmhub must see every ticket an end user requested; give the agent Global Access",
    )


def _custom_fields(http: FreshdeskHttp, fields: Mapping[str, str]) -> list[CheckResult]:
    """One result per configured field, from one listing of the ticket fields."""
    try:
        listed = http.call_json("GET", "/ticket_fields", "list the ticket fields", list)
    except CrmError as error:
        return [CheckResult(f"{key} {name}", False, str(error)) for key, name in fields.items()]
    by_name: dict[str, Mapping[str, Any]] = {}
    for field in listed:
        if isinstance(field, Mapping) and isinstance(field.get("name"), str):
            # Listed with the cf_ prefix that tickets' custom_fields use, or (some accounts) without it.
            by_name[field["name"]] = by_name[f"cf_{field['name']}"] = field
    return [_custom_field(key, name, by_name.get(name)) for key, name in fields.items()]


def _custom_field(key: str, name: str, field: Mapping[str, Any] | None) -> CheckResult:
    check = f"{key} {name}"
    if field is None:
        return CheckResult(check, False, f"Freshdesk has no ticket field {name}: create a single-line text field")
    label, kind = field.get("label"), field.get("type")
    if kind not in TEXT_FIELD_TYPES:
        return CheckResult(check, False, f"{label!r} is a {kind} field: crmhub writes ids into it, so it must be a text field")
    return CheckResult(check, True, f"{label!r} ({kind})")


def _queues_by_group(groups: Mapping[str, int]) -> dict[int, list[str]]:
    """Group id → the leaf queues mapped to it, so that a group shared by queues is read once."""
    found: dict[int, list[str]] = {}
    for queue, group_id in sorted(groups.items()):
        found.setdefault(group_id, []).append(queue)
    return found


def _group(http: FreshdeskHttp, group_id: int, queues: list[str]) -> CheckResult:
    check, mapped = f"group {group_id}", f"groups: {', '.join(queues)}"
    action = f"read group {group_id}"
    try:
        response = http.call("GET", f"/groups/{group_id}", action, allow=frozenset({NOT_FOUND}))
        if response.status_code == NOT_FOUND:
            return CheckResult(check, False, f"Freshdesk has no group {group_id} ({mapped})")
        group = body_of(response, action, dict, is_write=False)
    except CrmError as error:
        return CheckResult(check, False, f"{error} ({mapped})")
    return CheckResult(check, True, f"{group.get('name')!r} ({mapped})")
