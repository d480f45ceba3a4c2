"""``crmhub check`` for Kustomer: the cheapest read-only calls that catch what an integrator can get wrong.

==================================  ==================================================================
check                               Kustomer call, and what passes
==================================  ==================================================================
``credentials``                     ``GET /v1/users/current``: the API host answers and takes the key
                                    (any valid key may call it; no role is needed)
``anonymous_customer_id``           ``GET /v1/customers/{id}``: the customer anonymous sessions are
                                    filed under exists
``leaf_queue_attribute NAME``       ``GET /v1/metadata/conversation``: the custom attribute that
                                    marks the leaf queue is defined on the Conversation klass (the
                                    key needs ``org.permission.metadata.read`` for this one read)
``queue ID``, ``team ID``           ``GET /v1/routing/queues/{id}``, ``GET /v1/teams/{id}`` for each
                                    queue and team ``[crm.kustomer.queues]`` names
==================================  ==================================================================

Nothing else runs when the credentials fail. Failures carry Kustomer's own words, never the key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from crmhub.core.errors import CrmError
from crmhub.core.models import CheckResult
from crmhub_kustomer.client import KustomerClient, segment
from crmhub_kustomer.settings import QueueTarget


def _attributes(body: Mapping[str, Any]) -> Mapping[str, Any]:
    """``data.attributes`` of a JSON:API answer (empty when it has none)."""
    data = body.get("data")
    attributes = data.get("attributes") if isinstance(data, Mapping) else None
    return attributes if isinstance(attributes, Mapping) else {}


def check_crm(client: KustomerClient) -> list[CheckResult]:
    """Every check that applies to the client's settings, in order; see the module docstring."""
    settings = client.settings
    try:
        me = _attributes(client.get("/v1/users/current", "read the current user"))
    except CrmError as error:
        return [CheckResult("credentials", False, f"{error} ({settings.base_url})")]
    results = [
        CheckResult("credentials", True, f"signed in at {settings.base_url} as {me.get('name')} ({me.get('userType')} user)"),
        _exists(client, "anonymous_customer_id", f"/v1/customers/{segment(settings.anonymous_customer_id)}",
                f"customer {settings.anonymous_customer_id}", "anonymous sessions are filed under it"),
        _leaf_queue_attribute(client, settings.leaf_queue_attribute),
    ]
    for kind, path, ids in (
        ("queue", "/v1/routing/queues/", _leaf_queues_by(settings.queues, lambda target: target.queue)),
        ("team", "/v1/teams/", _leaf_queues_by(settings.queues, lambda target: target.team)),
    ):
        for target_id, leaf_queues in ids.items():
            results.append(_exists(
                client, f"{kind} {target_id}", path + segment(target_id), f"{kind} {target_id}",
                f"queues: {', '.join(leaf_queues)}",
            ))
    return results


def _exists(client: KustomerClient, check: str, path: str, what: str, why: str) -> CheckResult:
    """``what`` can be read at ``path``; ``why`` says where the settings name it."""
    try:
        found = client.get_if_exists(path, f"read {what}")
    except CrmError as error:
        return CheckResult(check, False, f"{error} ({why})")
    if found is None:
        return CheckResult(check, False, f"Kustomer has no {what} ({why})")
    attributes = _attributes(found)
    return CheckResult(check, True, f"{attributes.get('displayName') or attributes.get('name')!r} ({why})")


def _leaf_queue_attribute(client: KustomerClient, name: str) -> CheckResult:
    check = f"leaf_queue_attribute {name}"
    try:
        properties = _attributes(client.get("/v1/metadata/conversation", "read the conversation metadata")).get("properties")
    except CrmError as error:
        return CheckResult(check, False, str(error))
    if not isinstance(properties, Mapping):
        return CheckResult(check, False, "Kustomer's conversation metadata lists no custom attributes")
    if name not in properties:
        return CheckResult(check, False, f"the Conversation klass has no custom attribute {name}: create it in Kustomer")
    described = properties[name]
    label = described.get("displayName") if isinstance(described, Mapping) else None
    return CheckResult(check, True, f"{label or name!r} on the Conversation klass")


def _leaf_queues_by(
    queues: Mapping[str, QueueTarget], target: Callable[[QueueTarget], str | None],
) -> dict[str, list[str]]:
    """Kustomer queue (or team) id → the leaf queues routed to it, so that each id is read once."""
    found: dict[str, list[str]] = {}
    for leaf_queue, routed in sorted(queues.items()):
        target_id = target(routed)
        if target_id:
            found.setdefault(target_id, []).append(leaf_queue)
    return found
