"""The end user as a Salesforce person: matched in a lookup object, created as a Contact if need be.

Matching is one SOQL query per lookup object (Contact, then the optional secondary object), asking
for the host's id in the external-id field, the phone in every phone field and the email in every
email field at once; the rows are then ranked the way SPEC section 6 orders the keys: external id
first, then phone (compared in E.164), then email. Salesforce keeps phone numbers as typed, so the
query offers the number in E.164, national and international form, and each stored number is read
in the end user's own region before comparing.

A Contact is created only when nothing matches and the end user can be found again next time (a
phone, an email, or an id with an external-id field); with the external-id field it is created by
upsert on the host's id, so a retry can never make a second Contact.

Matches (and misses) are cached per client for ``person_cache_seconds``: the record lookup and the
create that follows it for the same session then cost one person query, not two.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import phonenumbers

from crmhub.core.identity import normalise_phone
from crmhub.core.models import EndUser
from crmhub_salesforce import soql
from crmhub_salesforce.api import SalesforceApi, created_id
from crmhub_salesforce.config import PersonLookup, SalesforceConfig
from crmhub_salesforce.records import fit_chars
from crmhub_salesforce.upsert import upsert

MATCH_LIMIT = 50
CACHE_SIZE = 1024
LAST_NAME_MAX = 80


@dataclass(frozen=True)
class PersonMatch:
    """A Salesforce person and the record field that links a record to them."""

    object: str
    id: str
    record_field: str


def phone_forms(number: str, region: str | None) -> list[str]:
    """The ways a number may be stored: E.164, national, international, and as the host sent it."""
    e164 = normalise_phone(number, region)
    forms = [e164, number.strip()]
    try:
        parsed = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is not None:
        forms += [
            phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL),
            phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
        ]
    return list(dict.fromkeys(f for f in forms if f))


def _region_of(e164: str) -> str | None:
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164))
    except phonenumbers.NumberParseException:
        return None


def same_phone(stored: Any, e164: str, default_region: str | None) -> bool:
    """Whether a stored number is ``e164``; numbers without a country code are read in the
    settings' ``default_phone_region``, else in the end user's own region."""
    if not isinstance(stored, str) or not stored.strip():
        return False
    return normalise_phone(stored, default_region or _region_of(e164)) == e164


def split_name(end_user: EndUser) -> dict[str, str]:
    """``FirstName``/``LastName`` for a new Contact (``LastName`` is required)."""
    name = (end_user.name or "").strip()
    if not name:
        return {"LastName": fit_chars(end_user.email or end_user.phone or end_user.id or "Unknown", LAST_NAME_MAX)}
    first, _, last = name.rpartition(" ")
    names = {"LastName": fit_chars(last, LAST_NAME_MAX)}
    if first:
        names["FirstName"] = fit_chars(first, 40)
    return names


class People:
    """Finds (and creates) the Salesforce person for an end user."""

    def __init__(self, api: SalesforceApi, config: SalesforceConfig, clock: Callable[[], float] = time.monotonic):
        self.api = api
        self.config = config
        self.region = config.default_phone_region
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, str, str], tuple[float, PersonMatch | None]] = OrderedDict()

    # --- the cache ------------------------------------------------------------------------------------

    def _key(self, end_user: EndUser) -> tuple[str, str, str]:
        phone = normalise_phone(end_user.phone, self.region) if end_user.phone else ""
        return (end_user.id or "", phone, (end_user.email or "").strip().lower())

    def _cached(self, end_user: EndUser) -> tuple[bool, PersonMatch | None]:
        with self._lock:
            entry = self._cache.get(self._key(end_user))
            if entry is None or entry[0] <= self._clock():
                return False, None
            return True, entry[1]

    def _remember(self, end_user: EndUser, match: PersonMatch | None) -> None:
        if self.config.person_cache_seconds <= 0:
            return
        with self._lock:
            key = self._key(end_user)
            self._cache.pop(key, None)
            self._cache[key] = (self._clock() + self.config.person_cache_seconds, match)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)

    def forget(self, end_user: EndUser) -> None:
        """Drop what is cached for ``end_user`` (after a write that used it was refused)."""
        with self._lock:
            self._cache.pop(self._key(end_user), None)

    # --- finding ----------------------------------------------------------------------------------------

    def find(self, end_user: EndUser) -> PersonMatch | None:
        """The matching person in the first lookup object that has one, or None."""
        known, match = self._cached(end_user)
        if known:
            return match
        match = None
        for lookup in self.config.people:
            match = self._find_in(lookup, end_user)
            if match is not None:
                break
        self._remember(end_user, match)
        return match

    def _find_in(self, lookup: PersonLookup, end_user: EndUser) -> PersonMatch | None:
        conditions: list[str] = []
        if lookup.external_id_field and end_user.id:
            conditions.append(f"{lookup.external_id_field} = {soql.literal(end_user.id)}")
        if end_user.phone:
            forms = soql.literal_list(phone_forms(end_user.phone, self.region))
            conditions += [f"{name} IN {forms}" for name in lookup.phone_fields]
        if end_user.email:
            conditions += [f"{name} = {soql.literal(end_user.email.strip())}" for name in lookup.email_fields]
        if not conditions:
            return None
        wanted = ["Id", *([lookup.external_id_field] if lookup.external_id_field else []), *lookup.phone_fields, *lookup.email_fields]
        query = soql.select(
            list(dict.fromkeys(wanted)), lookup.object, " OR ".join(conditions), order_by="CreatedDate ASC", limit=MATCH_LIMIT
        )
        rows = self.api.query(query, action=f"look up the end user in {lookup.object}")
        row = self._best(rows, lookup, end_user)
        return PersonMatch(lookup.object, row["Id"], lookup.record_field) if row else None

    def _best(self, rows: list[dict[str, Any]], lookup: PersonLookup, end_user: EndUser) -> dict[str, Any] | None:
        """The row matched by the strongest key: external id, then phone, then email."""
        rows = [row for row in rows if isinstance(row.get("Id"), str) and row["Id"]]
        if lookup.external_id_field and end_user.id:
            for row in rows:
                if row.get(lookup.external_id_field) == end_user.id:
                    return row
        if end_user.phone:
            e164 = normalise_phone(end_user.phone, self.region)
            for row in rows:
                if any(same_phone(row.get(name), e164, self.region) for name in lookup.phone_fields):
                    return row
        if end_user.email:
            email = end_user.email.strip().lower()
            for row in rows:
                if any(str(row.get(name) or "").strip().lower() == email for name in lookup.email_fields):
                    return row
        return None

    # --- creating -----------------------------------------------------------------------------------------

    def find_or_create(self, end_user: EndUser) -> PersonMatch | None:
        """The matching person; else a new Contact if settings allow and the end user can be found
        again by it; else None (the record is then created without a person)."""
        match = self.find(end_user)
        if match is not None or not self.config.create_contacts:
            return match
        contact = self.config.contact_lookup
        by_external_id = bool(contact.external_id_field and end_user.id)
        if not (by_external_id or end_user.phone or end_user.email):
            return None
        body: dict[str, Any] = split_name(end_user)
        if end_user.phone and contact.phone_fields:
            body[contact.phone_fields[0]] = normalise_phone(end_user.phone, self.region)
        if end_user.email and contact.email_fields:
            body[contact.email_fields[0]] = end_user.email.strip()
        action = f"create the end user as a {contact.object}"
        if by_external_id:
            assert contact.external_id_field is not None and end_user.id is not None
            person_id, _ = upsert(self.api, contact.object, contact.external_id_field, end_user.id, body, action=action)
        else:
            response = self.api.request("POST", f"sobjects/{contact.object}", json=body, action=action, may_have_applied=True)
            person_id = created_id(response, action)
        match = PersonMatch(contact.object, person_id, contact.record_field)
        self._remember(end_user, match)
        return match
