"""The fewest HTTP calls each vendor's API allows per scenario: the baseline of the API-call benchmark.

Worked out in docs/benchmarks.md ("API calls per scenario"), under the same conditions the
benchmark measures: a process that has already talked to the CRM (auth token and default status
known) but knows nothing yet about this end user; crmhub's store remembers the end user's record
in the leaf queue where it made one; every SPEC rule kept (match by id, then phone, then email,
without a search index that lags; ask the CRM whether the record is open; one request where the
API lets one request do two things). Each entry: (calls, the calls).
"""

from __future__ import annotations

SCENARIOS = ("new_end_user", "known_end_user", "append_open", "reopen_closed", "abandoned_chat")

MINIMUM: dict[str, dict[str, tuple[int, str]]] = {
    "zendesk": {
        "new_end_user": (5, "user by external id, by phone, by email (all miss), create_or_update user, create ticket"),
        "known_end_user": (3, "user by external id, the user's requested tickets, create ticket"),
        "append_open": (2, "read the remembered ticket (open), one update: comment (+ tags)"),
        "reopen_closed": (3, "read the remembered ticket (solved; names the requester), requested tickets, one update: status + comment"),
        "abandoned_chat": (1, "create ticket (no requester)"),
    },
    "freshdesk": {
        "new_end_user": (6, "contacts by unique_external_id, phone, mobile, email (all miss), create contact, create ticket"),
        "known_end_user": (3, "contact by unique_external_id, the contact's tickets, create ticket"),
        "append_open": (2, "read the remembered ticket (open, tags already there), private note"),
        "reopen_closed": (4, "read the remembered ticket (names the requester), the requester's tickets, PUT status 2, private note"),
        "abandoned_chat": (1, "create ticket under the anonymous requester's email"),
    },
    "salesforce": {
        "new_end_user": (2, "one SOQL on Contact (no match), one composite request: Contact upsert + Case upsert"),
        "known_end_user": (2, "one SOQL: the Contact with its Cases from the leaf queue (parent-child subquery), Case upsert"),
        "append_open": (2, "one SOQL: the Contact with its Cases, CaseComment"),
        "reopen_closed": (2, "one SOQL: the Contact with its Cases, one composite request: Case status PATCH + CaseComment"),
        "abandoned_chat": (1, "Case upsert (no Contact)"),
    },
    "kustomer": {
        "new_end_user": (6, "customer by externalId, phone, email (all 404), create customer, create conversation (tag ids in it), note"),
        "known_end_user": (4, "customer by externalId, the customer's conversations, create conversation (tag ids in it), note"),
        "append_open": (2, "read the remembered conversation (open, its tags already there), note"),
        "reopen_closed": (4, "read the remembered conversation (done; names the customer), the customer's conversations, PATCH status (+ tag ids), note"),
        "abandoned_chat": (2, "create conversation under the anonymous customer (tag ids in it), note"),
    },
}
