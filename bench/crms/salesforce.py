"""A fake Salesforce REST API: OAuth token, SOQL on Contact / Case / CaseStatus, sObject writes, composite.

It answers what the crmhub-salesforce plugin asks, the way Salesforce documents it: the
client-credentials token, ``query`` (one page, ``done: true``), Contact and Case create or upsert
by external id (201 / 200), Case update (204), CaseComment create, and ``POST /composite`` with
``allOrNone`` (subrequests in order, ``@{ref.id}`` references, every subrequest rolled back and
reported 400 ``PROCESSING_HALTED`` when one fails). The SOQL it understands is the plugin's own:
equality and ``IN`` lists joined by ``OR`` for people, with an optional parent-child subquery
``(SELECT … FROM Cases WHERE …)`` whose result is ``null`` for a Contact without matching Cases
and a nested query result otherwise; ``AND``-ed equalities, ``IsClosed = false`` and
``ClosedDate >=`` for records.
"""

from __future__ import annotations

import copy
import itertools
import re
from datetime import datetime, timezone
from typing import Any

from bench.crms.common import WriteClock
from bench.fake_http import Answer, FakeApp, Request

NAME = "salesforce"
ENVIRON = {"SALESFORCE_CLIENT_SECRET": "bench-secret"}
DATA = "/services/data/v60.0"
PERSON_ID_FIELD = "Crmhub_End_User_Id__c"
SESSION_FIELD = "Crmhub_Session_Id__c"
QUEUE_FIELD = "Crmhub_Leaf_Queue__c"
PERSON_FIELDS = (PERSON_ID_FIELD, "Phone", "MobilePhone", "Email")
_LITERAL = r"'((?:[^'\\]|\\.)*)'"
CASES_RELATIONSHIP = "Cases"
HALTED = [{"errorCode": "PROCESSING_HALTED",
           "message": "The transaction was rolled back since another operation in the same transaction failed."}]


def settings(base_url: str) -> dict[str, Any]:
    """The ``[crm.salesforce]`` section for a fake served at ``base_url`` (the README's set-up:
    an external-id field on Contact, upsert of Cases on the session id)."""
    return {
        "client_id": "bench-client", "client_secret": "env:SALESFORCE_CLIENT_SECRET", "base_url": base_url,
        "person_external_id_field": PERSON_ID_FIELD, "upsert_field": SESSION_FIELD,
    }


def sf_time(moment: datetime) -> str:
    """Salesforce's dateTime form: ``2026-11-24T10:00:00.000+0000``."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00").replace(".000+0000", "+00:00"))


def _unescape(literal: str) -> str:
    return re.sub(r"\\(.)", r"\1", literal)


def _subquery(soql: str) -> tuple[str, str | None]:
    """``soql`` without its parent-child subquery, and the subquery's text (None if it has none).
    The subquery's own parentheses (``(IsClosed = false OR …)``) are balanced."""
    start = soql.find("(SELECT ")
    if start < 0:
        return soql, None
    depth = 0
    for end in range(start, len(soql)):
        depth += {"(": 1, ")": -1}.get(soql[end], 0)
        if depth == 0:
            return soql[:start] + soql[end + 1:], soql[start + 1:end]
    raise ValueError(f"unbalanced subquery in {soql!r}")


def _where(soql: str) -> str:
    where = re.split(r"\bWHERE\b", soql, maxsplit=1)[1]
    return re.split(r"\bORDER BY\b|\bLIMIT\b", where)[0]


def _saved(record_id: str, created: bool) -> dict[str, Any]:
    return {"id": record_id, "success": True, "errors": [], "created": created}


class App(FakeApp):
    def __init__(self) -> None:
        super().__init__()
        self.clock = WriteClock()
        self.rows: dict[str, dict[str, dict[str, Any]]] = {"Contact": {}, "Case": {}, "CaseComment": {}}
        self._ids = itertools.count(1)
        self.route("POST", r"/services/oauth2/token", self.token)
        self.route("GET", DATA + r"/query", self.query)
        self.route("POST", DATA + r"/composite", self.composite)
        self.route("POST", DATA + r"/sobjects/(?P<sobject>\w+)", self.create)
        self.route("PATCH", DATA + r"/sobjects/(?P<sobject>\w+)/(?P<field>\w+)/(?P<value>[^/]+)", self.upsert)
        self.route("PATCH", DATA + r"/sobjects/(?P<sobject>\w+)/(?P<record_id>\w+)", self.update)

    def _new_id(self, sobject: str) -> str:
        prefix = {"Contact": "003", "Case": "500", "CaseComment": "00a"}[sobject]
        return f"{prefix}{next(self._ids):015d}"

    # --- what the benchmark does to the CRM directly (people, agents) --------------------------

    def add_person(self, end_user: dict[str, str]) -> None:
        self._insert("Contact", {"LastName": end_user.get("name") or "Customer", PERSON_ID_FIELD: end_user.get("id"),
                                 "Phone": end_user.get("phone"), "Email": end_user.get("email")})

    def close(self, record_id: str, at: datetime) -> None:
        """An agent closes the Case at ``at``."""
        self.rows["Case"][record_id].update(Status="Closed", IsClosed=True, ClosedDate=sf_time(at))

    # --- auth -----------------------------------------------------------------------------------

    def token(self, request: Request) -> Answer:
        host = request.headers.get("Host", "127.0.0.1")
        return Answer(200, {"access_token": "bench-access-token", "instance_url": f"http://{host}",
                            "token_type": "Bearer", "id": "https://login.salesforce.com/id/00D/005", "issued_at": "0"})

    # --- SOQL -----------------------------------------------------------------------------------

    def query(self, request: Request) -> Answer:
        soql, subquery = _subquery(request.query["q"])
        sobject = re.search(r"\bFROM (\w+)", soql).group(1)  # type: ignore[union-attr]
        where = _where(soql)
        if sobject == "CaseStatus":
            found = [{"ApiName": "New", "MasterLabel": "New"}]
        elif sobject == "Contact":
            wanted = {_unescape(v).lower() for v in re.findall(_LITERAL, where)}
            found = [row for row in self.rows["Contact"].values()
                     if any(str(row.get(f) or "").lower() in wanted for f in PERSON_FIELDS if row.get(f))]
            found.sort(key=lambda row: row["CreatedDate"])
            if subquery is not None:
                if f"FROM {CASES_RELATIONSHIP} " not in subquery:
                    return Answer(400, [{"errorCode": "INVALID_TYPE", "message": "Didn't understand relationship in FROM clause"}])
                found = [{**row, CASES_RELATIONSHIP: self._nested(self._cases(_where(subquery), row["Id"]))} for row in found]
        else:
            found = self._cases(where)
        records = [{"attributes": {"type": sobject}, **row} for row in found]
        return Answer(200, {"totalSize": len(records), "done": True, "records": records})

    @staticmethod
    def _nested(cases: list[dict[str, Any]]) -> dict[str, Any] | None:
        """A subquery's result in its parent row: null when it found nothing."""
        if not cases:
            return None
        records = [{"attributes": {"type": "Case"}, **row} for row in cases]
        return {"totalSize": len(records), "done": True, "records": records}

    def _cases(self, where: str, contact_id: str | None = None) -> list[dict[str, Any]]:
        equal = {field: _unescape(value) for field, value in re.findall(r"(\w+) = " + _LITERAL, where)}
        if contact_id is not None:
            equal["ContactId"] = contact_id
        since = re.search(r"ClosedDate >= (\S+?)\)", where)
        cases = [row for row in self.rows["Case"].values() if all(row.get(f) == v for f, v in equal.items())]
        if since:
            limit = _parse_time(since.group(1))
            cases = [row for row in cases if not row["IsClosed"] or _parse_time(row["ClosedDate"]) >= limit]
        elif "IsClosed = false" in where:
            cases = [row for row in cases if not row["IsClosed"]]
        return sorted(cases, key=lambda row: row["CreatedDate"], reverse=True)

    # --- sObject writes -------------------------------------------------------------------------

    def _insert(self, sobject: str, fields: dict[str, Any]) -> str:
        record_id = self._new_id(sobject)
        row = {"Id": record_id, "CreatedDate": sf_time(self.clock.now()), **fields}
        if sobject == "Case":
            row.setdefault("Status", "New")
            row.update(IsClosed=False, ClosedDate=None)
        self.rows[sobject][record_id] = row
        return record_id

    def create(self, request: Request, sobject: str) -> Answer:
        if sobject not in self.rows:
            return Answer(404, [{"errorCode": "NOT_FOUND", "message": f"no sObject {sobject}"}])
        return Answer(201, _saved(self._insert(sobject, dict(request.body)), True))

    def upsert(self, request: Request, sobject: str, field: str, value: str) -> Answer:
        for record_id, row in self.rows.get(sobject, {}).items():
            if row.get(field) == value:
                row.update(request.body)
                return Answer(200, _saved(record_id, False))
        return Answer(201, _saved(self._insert(sobject, {**request.body, field: value}), True))

    def update(self, request: Request, sobject: str, record_id: str) -> Answer:
        row = self.rows.get(sobject, {}).get(record_id)
        if row is None:
            return Answer(404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}])
        row.update(request.body)
        if sobject == "Case" and "Status" in request.body and request.body["Status"] != "Closed":
            row.update(IsClosed=False, ClosedDate=None)
        return Answer(204)

    # --- composite ------------------------------------------------------------------------------

    def composite(self, request: Request) -> Answer:
        """Subrequests in order, each served by this fake's own routes, ``@{ref.id}`` replaced by
        what an earlier one answered; with ``allOrNone``, one failure rolls every write back."""
        before = copy.deepcopy(self.rows)
        ids: dict[str, str] = {}
        results: list[dict[str, Any]] = []
        for sub in request.body["compositeRequest"]:
            url = self._resolve(sub["url"], ids)
            body = {key: self._resolve(value, ids) if isinstance(value, str) else value
                    for key, value in (sub.get("body") or {}).items()}
            answer = self.handle(Request(sub["method"], url, {}, body, dict(sub.get("httpHeaders") or {})))
            if isinstance(answer.body, dict) and "id" in answer.body:
                ids[sub["referenceId"]] = answer.body["id"]
            results.append({"body": answer.body, "httpHeaders": {}, "httpStatusCode": answer.status,
                            "referenceId": sub["referenceId"]})
        failed = any(not 200 <= r["httpStatusCode"] < 300 for r in results)
        if failed and request.body.get("allOrNone"):
            self.rows = before
            results = [r if not 200 <= r["httpStatusCode"] < 300 else {**r, "body": HALTED, "httpStatusCode": 400}
                       for r in results]
        return Answer(200, {"compositeResponse": results})

    @staticmethod
    def _resolve(text: str, ids: dict[str, str]) -> str:
        return re.sub(r"@\{(\w+)\.id\}", lambda m: ids.get(m.group(1), m.group(0)), text)
