"""Finding or creating the Zendesk user a ticket is requested by.

End users are matched as SPEC section 6 says: first by the host's ``end_user.id`` in the user's
``external_id`` (``users/search.json?external_id=``, an exact lookup), then by phone in E.164
form, then by email (``users/search.json?query=phone:…`` / ``query=email:…``, filtered to exact
matches). A user is created with ``users/create_or_update.json``, storing the host id as external
id, so two sessions racing to create the same person end up with one user.

Phone and email searches go through Zendesk's search index, which lags a few minutes behind
writes; the in-process :class:`~crmhub_zendesk.client.RequesterCache` covers the user crmhub just
created, and the external-id lookup covers everyone once they have one.
"""

from __future__ import annotations

from typing import Any

from crmhub.core.identity import end_user_key, normalise_phone
from crmhub.core.models import EndUser
from crmhub_zendesk.client import ZendeskClient
from crmhub_zendesk.records import many, one


def _search(client: ZendeskClient, params: dict[str, str], what: str) -> list[dict[str, Any]]:
    return many(client.get("/users/search.json", params, action=f"user lookup by {what}"), "users", f"user lookup by {what}")


def _lookup(client: ZendeskClient, end_user: EndUser) -> int | None:
    region = client.settings.default_phone_region
    if end_user.id:
        found = [u for u in _search(client, {"external_id": end_user.id}, "external id") if u.get("external_id") == end_user.id]
        if found:
            return int(found[0]["id"])
    if end_user.phone:
        phone = normalise_phone(end_user.phone, region)
        found = [
            u for u in _search(client, {"query": f"phone:{phone}"}, "phone")
            if u.get("phone") and normalise_phone(str(u["phone"]), region) == phone
        ]
        if found:
            return int(min(found, key=lambda u: u["id"])["id"])
    if end_user.email:
        email = end_user.email.strip().lower()
        found = [u for u in _search(client, {"query": f"email:{email}"}, "email") if str(u.get("email") or "").lower() == email]
        if found:
            return int(min(found, key=lambda u: u["id"])["id"])
    return None


def find_requester(client: ZendeskClient, end_user: EndUser | None) -> int | None:
    """The Zendesk user id of ``end_user``, or None (not found, or anonymous)."""
    key = end_user_key(end_user, client.settings.default_phone_region)
    if end_user is None or key is None:
        return None
    known, user_id = client.requesters.get(key)
    if known:
        return user_id
    user_id = _lookup(client, end_user)
    client.requesters.put(key, user_id)
    return user_id


def find_or_create_requester(client: ZendeskClient, end_user: EndUser | None) -> int | None:
    """The requester for a new ticket: found, else created; None for an anonymous session
    (Zendesk then files the ticket under the API user)."""
    user_id = find_requester(client, end_user)
    if user_id is not None or end_user is None or end_user.is_anonymous:
        return user_id
    region = client.settings.default_phone_region
    user: dict[str, Any] = {
        "name": end_user.name or end_user.email or end_user.phone or f"Customer {end_user.id}",
        "role": "end-user",
    }
    if end_user.id:
        user["external_id"] = end_user.id
    if end_user.phone:
        user["phone"] = normalise_phone(end_user.phone, region)
    if end_user.email:
        user["email"] = end_user.email.strip()
    created = one(client.post("/users/create_or_update.json", {"user": user}, "user create"), "user", "user create")
    user_id = int(created["id"])
    key = end_user_key(end_user, region)
    assert key is not None  # not anonymous
    client.requesters.put(key, user_id)
    return user_id
