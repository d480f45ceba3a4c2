"""The end user as a Freshdesk contact (the ticket's requester).

Matching order (SPEC section 6): the host's ``end_user.id`` in the contact's
``unique_external_id``, then the phone in E.164 form (the contact's ``phone``, then its
``mobile``), then the email. Each is one ``GET /api/v2/contacts?<field>=<value>`` on the contact
list, which reads the database directly (the filter API's search index lags by minutes, and a
second session of a new caller often comes sooner than that).

When none matches, the contact is created with everything known (``POST /api/v2/contacts``).
Freshdesk requires a name on a contact, so one is made from the email, phone or id when the host
sent none. If another writer created the same contact in between, Freshdesk answers 409 with the
existing contact's id in ``errors[].additional_info.user_id``, and that contact is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from crmhub.core.identity import normalise_phone
from crmhub.core.models import EndUser

from crmhub_freshdesk.client import FreshdeskHttp, body_of
from crmhub_freshdesk.failures import error_for_response, malformed

CONFLICT = 409


def contact_id(contact: Any, action: str) -> int:
    if not isinstance(contact, dict) or not isinstance(contact.get("id"), int) or isinstance(contact.get("id"), bool):
        raise malformed(action, "a contact without a numeric id", is_write=False)
    return contact["id"]


def contact_name(end_user: EndUser) -> str:
    """The contact's name: the host's, else the email, phone or id (Freshdesk requires one)."""
    return end_user.name or end_user.email or end_user.phone or f"End user {end_user.id}"


class Requesters:
    """Finds and creates the contacts that tickets are filed under."""

    def __init__(self, http: FreshdeskHttp, default_phone_region: str | None, use_unique_external_id: bool):
        self.http = http
        self.region = default_phone_region
        self.use_unique_external_id = use_unique_external_id

    def lookups(self, end_user: EndUser) -> Iterator[tuple[str, str]]:
        """The ``(filter, value)`` pairs to try, in matching order."""
        if end_user.id and self.use_unique_external_id:
            yield "unique_external_id", end_user.id
        if end_user.phone:
            phone = normalise_phone(end_user.phone, self.region)
            yield "phone", phone
            yield "mobile", phone
        if end_user.email:
            yield "email", end_user.email.strip().lower()

    def find(self, end_user: EndUser) -> int | None:
        """The id of the contact that is this end user, or None; stops at the first match."""
        for name, value in self.lookups(end_user):
            action = f"look up contacts by {name}"
            contacts = self.http.call_json("GET", "/contacts", action, list, params={name: value})
            if contacts:
                return min(contact_id(contact, action) for contact in contacts)
        return None

    def create(self, end_user: EndUser) -> int:
        """Create the contact for this end user; the existing one's id if Freshdesk says it exists."""
        body: dict[str, Any] = {"name": contact_name(end_user)}
        if end_user.email:
            body["email"] = end_user.email.strip()
        if end_user.phone:
            body["phone"] = normalise_phone(end_user.phone, self.region)
        if end_user.id and self.use_unique_external_id:
            body["unique_external_id"] = end_user.id
        action = "create a contact"
        response = self.http.call("POST", "/contacts", action, json=body, allow=frozenset({CONFLICT}))
        if response.status_code == CONFLICT:
            existing = _existing_contact(response)
            if existing is None:
                raise error_for_response(response, action, is_write=True)
            return existing
        return contact_id(body_of(response, action, dict, is_write=True), action)

    def find_or_create(self, end_user: EndUser) -> int:
        found = self.find(end_user)
        return found if found is not None else self.create(end_user)


def _existing_contact(response: Any) -> int | None:
    """The ``user_id`` Freshdesk names in a 409 duplicate-value answer, if any."""
    try:
        body = response.json()
    except ValueError:
        return None
    for error in (body.get("errors") if isinstance(body, dict) else None) or []:
        info = error.get("additional_info") if isinstance(error, dict) else None
        user_id = info.get("user_id") if isinstance(info, dict) else None
        if isinstance(user_id, int) and not isinstance(user_id, bool):
            return user_id
    return None
