"""Create-or-update by external id (``PATCH /sobjects/<Object>/<Field>/<value>``).

An upsert keyed on a value that is stable for the thing being created (crmhub's session id for a
record, the host's end-user id for a Contact) cannot make a duplicate when it is retried: the retry
updates what the first attempt made. Salesforce answers 201 (created), 200 (updated; API 46.0+ with
``{"id", "created": false}``), 204 (updated, older API versions: no body, so the id is read back by
the same external id) or 300 (several records carry the value: refused, nothing written).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from crmhub.core.errors import PermanentCrmError
from crmhub_salesforce.api import SalesforceApi, created_id, json_object


def external_id_path(sobject: str, field: str, value: str) -> str:
    return f"sobjects/{sobject}/{field}/{quote(value, safe='')}"


def upsert(
    api: SalesforceApi, sobject: str, field: str, value: str, body: Mapping[str, Any], *,
    action: str, headers: Mapping[str, str] | None = None,
) -> tuple[str, bool]:
    """Upsert ``body`` on ``field = value``; return ``(record id, created)``."""
    path = external_id_path(sobject, field, value)
    response = api.request("PATCH", path, json=dict(body), headers=headers, action=action, may_have_applied=True)
    if response.status_code in (200, 201):
        return created_id(response, action), response.status_code == 201
    if response.status_code == 204:
        read = f"read the {sobject} whose {field} is {value}"
        found = json_object(api.request("GET", path, params={"fields": "Id"}, action=read), read)
        record_id = found.get("Id")
        if not isinstance(record_id, str) or not record_id:
            raise PermanentCrmError(f"Salesforce's answer to {read} carries no Id")
        return record_id, False
    raise PermanentCrmError(f"Salesforce answered {action} with an unexpected HTTP {response.status_code}")
