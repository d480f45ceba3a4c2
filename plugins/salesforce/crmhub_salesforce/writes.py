"""The writes of one operation, sent as one call: a lone request, or several as one ``POST /composite``.

Salesforce's Composite resource runs a series of subrequests in one call, and "the entire series
of requests counts as a single call toward your API limits"; a later subrequest may refer to an
earlier one's result (``@{person.id}``). crmhub sends ``allOrNone: true``: when a subrequest fails
the whole series is rolled back, and the answer is still HTTP 200 with one result per subrequest
(``compositeResponse[]``: ``referenceId``, ``httpStatusCode``, ``body``): the failed one with its
own status and error list, every other one with 400 ``PROCESSING_HALTED``. That failure is mapped
like a lone request's (:func:`~crmhub_salesforce.errors.error_for_answer`), as a change that did
not happen: nothing was written. A composite call that gets no answer, or fails as a whole with a
5xx, is an unknown outcome when one of its writes is not idempotent, exactly as that write alone.

Creates are upserts on an external id where the settings name one (``PATCH
/sobjects/<Object>/<Field>/<value>``): a retry updates what the first attempt made instead of
making a duplicate. Salesforce answers an upsert 201 (created), 200 (updated; API 46.0+ with
``{"id", "created": false}``), 204 (updated, older API versions: no body, so the id is read back
by the same external id) or 300 (several records carry the value: refused, nothing written).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from crmhub.core.errors import PermanentCrmError, UnknownOutcomeError
from crmhub.http import json_or_none
from crmhub_salesforce.api import SalesforceApi, json_object, record_id_of
from crmhub_salesforce.errors import error_codes, error_for_answer

PROCESSING_HALTED = "PROCESSING_HALTED"
"""The error code of the subrequests a failed ``allOrNone`` composite request rolled back."""


@dataclass(frozen=True)
class Write:
    """One REST write (a subrequest, when it travels with others)."""

    method: str
    path: str
    """Under the versioned data URL: ``sobjects/Case``."""
    body: Mapping[str, Any]
    action: str
    """What it does, in words, for error messages."""
    reference: str
    """Its composite ``referenceId`` (letters, digits, underscores), and the key of its answer."""
    may_have_applied: bool
    """A lost answer leaves its effect unknown (a create; not a PATCH by id, which can be repeated)."""
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    """A successful write's status and JSON body (None when it has none)."""

    status: int
    body: Any


def reference_to(reference: str) -> str:
    """The composite reference to the id a previous subrequest created or upserted."""
    return f"@{{{reference}.id}}"


def external_id_path(sobject: str, field_name: str, value: str) -> str:
    return f"sobjects/{sobject}/{field_name}/{quote(value, safe='')}"


def upsert_write(
    sobject: str, field_name: str, value: str, body: Mapping[str, Any], *, action: str, reference: str,
    headers: Mapping[str, str] | None = None,
) -> Write:
    """Create-or-update ``body`` on ``field_name = value``."""
    return Write(
        "PATCH", external_id_path(sobject, field_name, value), dict(body), action, reference,
        may_have_applied=True, headers=dict(headers or {}),
    )


def send(api: SalesforceApi, writes: Sequence[Write], *, action: str) -> dict[str, Answer]:
    """Send ``writes`` in one call; return each one's answer by reference, or raise the crmhub
    error of the write that failed. ``action`` names them all, for a composite call's own errors."""
    if len(writes) == 1:
        (write,) = writes
        response = api.request(
            write.method, write.path, json=dict(write.body), headers=write.headers, action=write.action,
            may_have_applied=write.may_have_applied,
        )
        return {write.reference: Answer(response.status_code, json_or_none(response))}
    return _composite(api, writes, action)


def _composite(api: SalesforceApi, writes: Sequence[Write], action: str) -> dict[str, Answer]:
    subrequests = []
    for write in writes:
        subrequest = {"method": write.method, "url": f"{api.data_path}/{write.path}", "referenceId": write.reference,
                      "body": dict(write.body)}
        if write.headers:
            subrequest["httpHeaders"] = dict(write.headers)
        subrequests.append(subrequest)
    may_have_applied = any(write.may_have_applied for write in writes)
    response = api.request(
        "POST", "composite", json={"allOrNone": True, "compositeRequest": subrequests}, action=action,
        may_have_applied=may_have_applied,
    )
    answers = _subresponses(json_or_none(response), [write.reference for write in writes], action, may_have_applied)
    failed = [(write, answers[write.reference]) for write in writes if not 200 <= answers[write.reference].status < 300]
    if failed:
        write, answer = next(((w, a) for w, a in failed if not _halted(a)), failed[0])
        raise error_for_answer(answer.status, answer.body, write.action, may_have_applied=False)
    return answers


def _subresponses(body: Any, references: list[str], action: str, may_have_applied: bool) -> dict[str, Answer]:
    """``compositeResponse[]`` by ``referenceId``. An answer of another shape is refused; when the
    call may have written something, as an unknown outcome rather than a failure."""
    results = body.get("compositeResponse") if isinstance(body, dict) else None
    answers: dict[str, Answer] = {}
    for result in results if isinstance(results, list) else []:
        if isinstance(result, dict) and isinstance(result.get("httpStatusCode"), int):
            answers[str(result.get("referenceId"))] = Answer(result["httpStatusCode"], result.get("body"))
    if all(reference in answers for reference in references):
        return answers
    message = f"Salesforce's answer to {action} is not the composite response expected"
    if may_have_applied:
        raise UnknownOutcomeError(f"{message}; the writes may have been made")
    raise PermanentCrmError(message)


def _halted(answer: Answer) -> bool:
    """Rolled back because another subrequest failed: not the failure to report."""
    return any(code == PROCESSING_HALTED for code, _ in error_codes(answer.body))


def written_id(api: SalesforceApi, write: Write, answer: Answer) -> str:
    """The id of the record a create or upsert wrote: from its answer, or, for an upsert that
    updated on an API version before 46.0 (204, no body), read back by the same external id."""
    if write.method == "PATCH" and answer.status == 204:
        read = f"read back the id of {write.path}"
        found = json_object(api.request("GET", write.path, params={"fields": "Id"}, action=read), read)
        record_id = found.get("Id")
        if not isinstance(record_id, str) or not record_id:
            raise PermanentCrmError(f"Salesforce's answer to {read} carries no Id")
        return record_id
    return record_id_of(answer.body, write.action)
