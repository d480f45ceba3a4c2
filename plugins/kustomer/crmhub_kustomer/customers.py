"""Finding the end user's Kustomer customer, and creating it when a record needs one.

SPEC section 6: first by the host's ``end_user.id`` stored as the customer's ``externalId``, then
by phone (E.164), then by email. Each is one Kustomer lookup
(``GET /v1/customers/externalId=…``, ``/phone=…``, ``/email=…``), answering 404 when nobody has
it. Kustomer keeps external ids, phones and emails unique per org, so a lookup finds at most one
customer, and creating a second customer with the same phone or email would be refused: the
lookups come first (or were just made for the same session, see :mod:`crmhub_kustomer.customer_ids`).
"""

from __future__ import annotations

from typing import Any

from crmhub.core.errors import AuthenticationError, PermanentCrmError
from crmhub.core.identity import end_user_key, normalise_phone
from crmhub.core.models import EndUser
from crmhub_kustomer.client import KustomerClient, segment
from crmhub_kustomer.records import resource


def _lookups(client: KustomerClient, end_user: EndUser) -> list[tuple[str, str]]:
    """(path, what it looks for) in matching order."""
    lookups = []
    if end_user.id:
        lookups.append((f"/v1/customers/externalId={segment(end_user.id)}", "external id"))
    if end_user.phone:
        phone = normalise_phone(end_user.phone, client.settings.default_phone_region)
        lookups.append((f"/v1/customers/phone={segment(phone)}", "phone"))
    if end_user.email:
        lookups.append((f"/v1/customers/email={segment(end_user.email.strip().lower())}", "email"))
    return lookups


def _key(client: KustomerClient, end_user: EndUser) -> str | None:
    return end_user_key(end_user, client.settings.default_phone_region)


def find_customer(client: KustomerClient, end_user: EndUser, session_id: str | None = None) -> str | None:
    """The Kustomer customer id of ``end_user``, or None if Kustomer has no such customer.

    A miss is remembered for ``session_id``, so that creating its record does not ask again.
    """
    key = _key(client, end_user)
    if key is None:
        return None
    remembered = client.customer_ids.get(key)
    if remembered is not None:
        return remembered
    found = _look_up(client, end_user, key)
    if found is None and session_id is not None:
        client.customer_ids.note_miss(key, session_id)
    return found


def _look_up(client: KustomerClient, end_user: EndUser, key: str) -> str | None:
    for path, what in _lookups(client, end_user):
        body = client.get_if_exists(path, f"look up a customer by {what}")
        if body is not None:
            customer_id = str(resource(body, "customer")["id"])
            client.customer_ids.remember(key, customer_id)
            return customer_id
    return None


def find_or_create_customer(client: KustomerClient, end_user: EndUser, session_id: str) -> str:
    """The Kustomer customer id of ``end_user``, creating the customer (with the host's id as its
    ``externalId``) when no lookup finds one.

    When this session's own lookups just found nobody they are not repeated; if the customer was
    created elsewhere meanwhile, Kustomer refuses the duplicate and the lookups run after all.
    """
    key = _key(client, end_user)
    just_missed = key is not None and client.customer_ids.take_miss(key, session_id)
    if not just_missed:
        found = find_customer(client, end_user)
        if found is not None:
            return found
    try:
        return _create(client, end_user, key)
    except PermanentCrmError as refused:
        if not just_missed or isinstance(refused, AuthenticationError) or key is None:
            raise
        found = _look_up(client, end_user, key)
        if found is None:
            raise
        return found


def _create(client: KustomerClient, end_user: EndUser, key: str | None) -> str:
    body: dict[str, Any] = {}
    if end_user.name:
        body["name"] = end_user.name
    if end_user.id:
        body["externalId"] = end_user.id
    if end_user.phone:
        body["phones"] = [{"phone": normalise_phone(end_user.phone, client.settings.default_phone_region)}]
    if end_user.email:
        body["emails"] = [{"email": end_user.email.strip().lower()}]
    # Not safe to repeat blindly, but a retry looks the customer up again first and finds it.
    created = client.post("/v1/customers", body, "create a customer", safe_to_repeat=False)
    customer_id = str(resource(created, "customer")["id"])
    if key is not None:
        client.customer_ids.remember(key, customer_id)
    return customer_id


def remember_customer(client: KustomerClient, end_user: EndUser, customer_id: str) -> None:
    """Remember the customer that a conversation crmhub made for ``end_user`` belongs to, as the
    conversation names it: no lookup is needed for it (and a remembered id Kustomer no longer
    knows is forgotten when it answers 404, as for any other)."""
    key = _key(client, end_user)
    if key is not None:
        client.customer_ids.remember(key, customer_id)


def forget_customer(client: KustomerClient, end_user: EndUser) -> None:
    """Drop the remembered id (Kustomer said it no longer exists: merged or deleted)."""
    key = _key(client, end_user)
    if key is not None:
        client.customer_ids.forget(key)
