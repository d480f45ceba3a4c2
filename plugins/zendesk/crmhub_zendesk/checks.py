"""``crmhub check`` for Zendesk: the cheapest read-only calls that catch what an integrator can get wrong.

=======================================  =============================================================
check                                    Zendesk call, and what passes
=======================================  =============================================================
``credentials``                          ``GET /api/v2/users/me.json``: the base URL answers and the
                                         email/token pair is accepted (Zendesk answers an unaccepted
                                         one with 401, or with an anonymous user that has no id)
``permissions``                          the same answer: the API user is an agent or admin, and not a
                                         restricted agent (crmhub reads every ticket an end user requested)
``session_id_field N``,                  ``GET /api/v2/ticket_fields/{N}.json``: the field exists, is
``leaf_queue_field N``                   active and holds text (crmhub writes ids into it)
``group N``                              ``GET /api/v2/groups/{N}.json`` for each group ``queue_groups``
                                         names: it exists and is not deleted
=======================================  =============================================================

Nothing else runs when the credentials fail. Every failure carries Zendesk's own words, never the token.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crmhub.core.errors import CrmError
from crmhub.core.models import CheckResult
from crmhub_zendesk.client import ZendeskClient
from crmhub_zendesk.http_errors import ZendeskNotFound

STAFF_ROLES = ("agent", "admin")
TEXT_FIELD_TYPES = ("text", "textarea")


def check_crm(client: ZendeskClient) -> list[CheckResult]:
    """Every check that applies to the client's settings, in order; see the module docstring."""
    try:
        me = client.get("/users/me.json").get("user")
    except CrmError as error:
        return [CheckResult("credentials", False, f"{error} ({client.api_url})")]
    if not isinstance(me, Mapping) or me.get("id") is None:
        return [CheckResult(
            "credentials", False,
            f"Zendesk at {client.root_url} answered as an anonymous user: the email and api_token were not accepted",
        )]
    results = [
        CheckResult("credentials", True, f"signed in at {client.root_url} as {me.get('name')} <{me.get('email')}>"),
        _permissions(me),
    ]
    settings = client.settings
    for key, field_id in (("session_id_field", settings.session_id_field), ("leaf_queue_field", settings.leaf_queue_field)):
        if field_id is not None:
            results.append(_ticket_field(client, key, field_id))
    for group_id, queues in _queues_by_group(settings.queue_groups).items():
        results.append(_group(client, group_id, queues))
    return results


def _permissions(me: Mapping[str, Any]) -> CheckResult:
    role, restriction = me.get("role"), me.get("ticket_restriction")
    if role not in STAFF_ROLES:
        return CheckResult(
            "permissions", False,
            f"the API user has the role {role!r}: crmhub needs an agent or admin to create tickets and end users",
        )
    if restriction:
        return CheckResult(
            "permissions", False,
            f"the API user is a restricted agent (sees tickets by {restriction!r}): crmhub must see every ticket "
            "an end user requested to append sessions to it",
        )
    return CheckResult("permissions", True, f"role {role}")


def _read_one(
    client: ZendeskClient, name: str, path: str, key: str, what: str, context: str = ""
) -> Mapping[str, Any] | CheckResult:
    """The object under ``key`` in the answer to ``GET path``, or the failed check saying why
    (``context`` ends each reason)."""
    try:
        found = client.get(path).get(key)
    except ZendeskNotFound:
        return CheckResult(name, False, f"Zendesk has no {what}{context}")
    except CrmError as error:
        return CheckResult(name, False, f"{error}{context}")
    if not isinstance(found, Mapping):
        return CheckResult(name, False, f"Zendesk's answer for {what} holds no {key}{context}")
    return found


def _ticket_field(client: ZendeskClient, key: str, field_id: int) -> CheckResult:
    name = f"{key} {field_id}"
    field = _read_one(client, name, f"/ticket_fields/{field_id}.json", "ticket_field", f"ticket field {field_id}")
    if isinstance(field, CheckResult):
        return field
    title, kind = field.get("title"), field.get("type")
    if kind not in TEXT_FIELD_TYPES:
        return CheckResult(name, False, f"{title!r} is a {kind} field: crmhub writes ids into it, so it must be a text field")
    if not field.get("active", False):
        return CheckResult(name, False, f"{title!r} is inactive: activate it in the Admin Center")
    return CheckResult(name, True, f"{title!r} ({kind})")


def _queues_by_group(queue_groups: Mapping[str, int]) -> dict[int, list[str]]:
    """Group id → the leaf queues mapped to it, so that a group shared by queues is read once."""
    found: dict[int, list[str]] = {}
    for queue, group_id in sorted(queue_groups.items()):
        found.setdefault(group_id, []).append(queue)
    return found


def _group(client: ZendeskClient, group_id: int, queues: list[str]) -> CheckResult:
    name = f"group {group_id}"
    mapped = f"queue_groups: {', '.join(queues)}"
    group = _read_one(client, name, f"/groups/{group_id}.json", "group", f"group {group_id}", f" ({mapped})")
    if isinstance(group, CheckResult):
        return group
    if group.get("deleted"):
        return CheckResult(name, False, f"group {group.get('name')!r} is deleted ({mapped})")
    return CheckResult(name, True, f"{group.get('name')!r} ({mapped})")
