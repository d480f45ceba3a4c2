"""``crmhub check`` for Salesforce: the cheapest read-only calls that catch what an integrator can get wrong.

===========================  =====================================================================
check                        Salesforce call, and what passes
===========================  =====================================================================
``credentials``              the token request (client-credentials or JWT bearer flow) succeeds
``api version vXX.X``        ``GET /services/data/vXX.X/``: the org offers the configured version
``record object Case``       ``GET …/sobjects/Case/describe``: this user may query, create and edit
                             Cases, and every field the settings name exists, is createable where
                             crmhub writes it on create, updateable where it changes it later, and
                             an External ID where crmhub upserts on it
``open status``              ``open_status`` set: an active value of the status field's picklist
                             (from that describe); not set: the org's default open ``CaseStatus``
                             (the SOQL query the client makes before its first create)
``note object CaseComment``  ``GET …/sobjects/CaseComment/describe``: createable, with its fields
``person object Contact``    ``GET …/sobjects/Contact/describe`` (and the ``secondary_lookup``
                             object's): queryable, the phone, email and external-id fields exist,
                             Contacts can be created when ``create_contacts`` is on, and the child
                             relationship crmhub reads the records through (``Cases``) has the
                             name the settings give it
``owner ID``                 each ``queue_owners`` id: a queue that takes the record object
                             (SOQL on ``QueueSobject``) or an active user (SOQL on ``User``)
===========================  =====================================================================

Nothing else runs when the token or the API version fails. Failures carry Salesforce's error codes
and words, never a token or secret.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from crmhub.core.errors import CrmError
from crmhub.core.models import CheckResult
from crmhub_salesforce import soql
from crmhub_salesforce.api import json_object
from crmhub_salesforce.client import SalesforceClient
from crmhub_salesforce.config import PersonLookup, SalesforceConfig

CREATE, UPDATE, EXTERNAL_ID = "createable", "updateable", "an External ID"
QUEUE_PREFIX, USER_PREFIX = "00G", "005"
Needs = dict[str, set[str]]
"""Field name → what crmhub does with it beyond reading it (``CREATE``, ``UPDATE``, ``EXTERNAL_ID``)."""


def check_crm(client: SalesforceClient) -> list[CheckResult]:
    """Every check that applies to the client's settings, in order; see the module docstring."""
    config, api = client.config, client.api
    try:
        token = api.tokens.current()
    except CrmError as error:
        return [CheckResult("credentials", False, f"{error} ({config.auth.token_url})")]
    results = [CheckResult("credentials", True, f"access token issued ({config.auth.flow} flow) for {token.instance_url}")]
    version = f"api version {config.api_version}"
    try:
        api.request("GET", "", action=f"list the REST resources of API {config.api_version}")
    except CrmError as error:
        return [*results, CheckResult(version, False, str(error))]
    results.append(CheckResult(version, True, f"{token.instance_url}{api.data_path}/"))

    record = config.record
    described = _describe(client, record.object)
    results.append(_object_check("record object", record.object, described, {"queryable", CREATE, UPDATE}, record_needs(config)))
    results += _open_status(client, described)
    note = config.note
    results.append(_object_check("note object", note.object, _describe(client, note.object), {CREATE}, note_needs(config)))
    for index, person in enumerate(config.people):
        creates = index == 0 and config.create_contacts
        flags = {"queryable", CREATE} if creates else {"queryable"}
        described_person = _describe(client, person.object)
        setting = "person_records_relationship" if index == 0 else "secondary_lookup.records_relationship"
        relationship = [] if isinstance(described_person, CrmError) else _records_relationship(
            described_person, person, record.object, setting
        )
        results.append(_object_check(
            "person object", person.object, described_person, flags, person_needs(config, index), relationship
        ))
    if record.owner_field and record.queue_owners:
        results += _owners(client)
    return results


# --- what crmhub does with each object's fields ----------------------------------------------------


def record_needs(config: SalesforceConfig) -> Needs:
    f = config.record
    needs: Needs = {name: set() for name in (f.closed_field, f.closed_at_field, "CreatedDate")}
    written = [f.subject_field, f.description_field, f.leaf_queue_field, f.session_id_field, *f.event_date_fields]
    written += [person.record_field for person in config.people]
    if f.origin_field:
        written.append(f.origin_field)
    if f.owner_field and f.queue_owners:
        written.append(f.owner_field)
    for name in written:
        needs.setdefault(name, set()).add(CREATE)
    needs.setdefault(f.status_field, set()).add(UPDATE)
    if f.open_status:
        needs[f.status_field].add(CREATE)
    if f.tags_field:
        needs.setdefault(f.tags_field, set()).update({CREATE, UPDATE})
    if f.upsert_field:
        needs.setdefault(f.upsert_field, set()).update({CREATE, EXTERNAL_ID})
    return needs


def note_needs(config: SalesforceConfig) -> Needs:
    n = config.note
    names = [n.parent_field, n.body_field, *([n.title_field] if n.title_field else []), *n.static_fields]
    return {name: {CREATE} for name in names}


def person_needs(config: SalesforceConfig, index: int) -> Needs:
    """The lookup object's fields; the first one (Contact) is also written when crmhub creates people."""
    person = config.people[index]
    needs: Needs = {name: set() for name in (*person.phone_fields, *person.email_fields)}
    if person.external_id_field:
        needs[person.external_id_field] = set()
    if index == 0 and config.create_contacts:
        for name in (person.phone_fields[:1] + person.email_fields[:1]):
            needs[name].add(CREATE)
        if person.external_id_field:
            needs[person.external_id_field].update({CREATE, EXTERNAL_ID})  # new Contacts are upserted on it
    return needs


# --- describe ---------------------------------------------------------------------------------------


def _describe(client: SalesforceClient, sobject: str) -> Mapping[str, Any] | CrmError:
    """The object's describe result, or the error that kept Salesforce from giving it."""
    action = f"describe {sobject}"
    try:
        return json_object(client.api.request("GET", f"sobjects/{sobject}/describe", action=action), action)
    except CrmError as error:
        return error


def _fields(described: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    listed = described.get("fields")
    return {f["name"]: f for f in listed if isinstance(f, Mapping) and "name" in f} if isinstance(listed, list) else {}


def _object_check(
    kind: str, sobject: str, described: Mapping[str, Any] | CrmError, flags: set[str], needs: Needs,
    more_problems: Sequence[str] = (),
) -> CheckResult:
    name = f"{kind} {sobject}"
    if isinstance(described, CrmError):
        return CheckResult(name, False, str(described))
    problems = [f"this user may not {_verb(flag)} {sobject} records" for flag in sorted(flags) if not described.get(flag)]
    fields = _fields(described)
    for field_name, uses in sorted(needs.items()):
        field = fields.get(field_name)
        if field is None:
            problems.append(f"{sobject} has no field {field_name} (or this user cannot see it)")
            continue
        problems += [f"{field_name} is not {use}" for use in sorted(uses) if not _field_allows(field, use)]
    problems += more_problems
    if problems:
        return CheckResult(name, False, "; ".join(problems))
    return CheckResult(name, True, f"{len(needs)} fields as the settings name them")


def _records_relationship(
    described: Mapping[str, Any], person: PersonLookup, record_object: str, setting: str,
) -> list[str]:
    """The person query reads the records through a child relationship (``Cases``): the one of
    ``childRelationships`` whose child object and field are the record object and its person lookup."""
    listed = described.get("childRelationships")
    through = [
        r for r in (listed if isinstance(listed, list) else [])
        if isinstance(r, Mapping) and r.get("childSObject") == record_object and r.get("field") == person.record_field
    ]
    if any(r.get("relationshipName") == person.records_relationship for r in through):
        return []
    named = [str(r["relationshipName"]) for r in through if r.get("relationshipName")]
    if named:
        return [f"the {record_object} records of a {person.object} (through {person.record_field}) are {named[0]!r}, "
                f"not {person.records_relationship!r}: set {setting}"]
    return [f"{person.object} has no child relationship to {record_object} through {person.record_field}"]


def _verb(flag: str) -> str:
    return {"queryable": "query", CREATE: "create", UPDATE: "edit"}[flag]


def _field_allows(field: Mapping[str, Any], use: str) -> bool:
    key = {CREATE: "createable", UPDATE: "updateable", EXTERNAL_ID: "externalId"}[use]
    return bool(field.get(key))


# --- the open status --------------------------------------------------------------------------------


def _open_status(client: SalesforceClient, described: Mapping[str, Any] | CrmError) -> list[CheckResult]:
    """The status reopening sets: the configured value among the picklist's active values, else the
    org's default open CaseStatus. Left out when the configured value cannot be checked (the
    describe failed, or the status field is not a picklist)."""
    record = client.config.record
    if record.open_status is None:
        try:
            return [CheckResult("open status", True, f"{client.open_status()!r}, the org's default open CaseStatus")]
        except CrmError as error:
            return [CheckResult("open status", False, str(error))]
    field = None if isinstance(described, CrmError) else _fields(described).get(record.status_field)
    values = field.get("picklistValues") if field else None
    if not values:
        return []
    active = [v.get("value") for v in values if isinstance(v, Mapping) and v.get("active")]
    if record.open_status not in active:
        return [CheckResult(
            "open status", False,
            f"{record.open_status!r} (open_status) is not an active {record.object}.{record.status_field} value; "
            f"active values: {', '.join(map(str, active))}",
        )]
    return [CheckResult("open status", True, f"{record.open_status!r}, an active {record.object}.{record.status_field} value")]


# --- queue owners -----------------------------------------------------------------------------------


def _owners(client: SalesforceClient) -> list[CheckResult]:
    """One result per owner id ``queue_owners`` names: a queue taking the record object, or an
    active user. One SOQL query per kind, for all ids at once."""
    record = client.config.record
    leaf_queues: dict[str, list[str]] = {}
    for leaf_queue, owner in sorted(record.queue_owners.items()):
        leaf_queues.setdefault(owner, []).append(leaf_queue)
    queues = [owner for owner in leaf_queues if owner.startswith(QUEUE_PREFIX)]
    users = [owner for owner in leaf_queues if owner.startswith(USER_PREFIX)]
    found_queues = _ids(client, queues, "QueueId", "QueueSobject", f"SobjectType = {soql.literal(record.object)}",
                        f"find the queues that take {record.object} records")
    found_users = _ids(client, users, "Id", "User", "IsActive = true", "find the active users")
    results = []
    for owner, mapped in leaf_queues.items():
        why = f"queue_owners: {', '.join(mapped)}"
        if owner in queues:
            results.append(_owner_result(owner, found_queues, f"a queue that takes {record.object} records", why))
        elif owner in users:
            results.append(_owner_result(owner, found_users, "an active user", why))
        else:
            results.append(CheckResult(f"owner {owner}", False, f"neither a queue (00G…) nor a user (005…) id ({why})"))
    return results


def _ids(
    client: SalesforceClient, ids: Sequence[str], column: str, sobject: str, condition: str, action: str,
) -> set[str] | CrmError:
    """The 15-character ids among ``ids`` that the query finds (Salesforce answers 18-character ids)."""
    if not ids:
        return set()
    text = soql.select([column], sobject, f"{condition} AND {column} IN {soql.literal_list(ids)}")
    try:
        return {str(row.get(column))[:15] for row in client.api.query(text, action=action)}
    except CrmError as error:
        return error


def _owner_result(owner: str, found: set[str] | CrmError, what: str, why: str) -> CheckResult:
    name = f"owner {owner}"
    if isinstance(found, CrmError):
        return CheckResult(name, False, f"{found} ({why})")
    if owner[:15] not in found:
        return CheckResult(name, False, f"not {what} in this org ({why})")
    return CheckResult(name, True, f"{what} ({why})")
