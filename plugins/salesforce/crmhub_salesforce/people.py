"""The end user as a Salesforce person: matched in a lookup object, created as a Contact if need be.

Matching is one SOQL query per lookup object (Contact, then the optional secondary object), asking
for the host's id in the external-id field, the phone in every phone field and the email in every
email field at once; the rows are then ranked the way SPEC section 6 orders the keys: external id
first, then phone (compared in E.164), then email. Salesforce keeps phone numbers as typed, so the
query offers the number in E.164, national and international form, and each stored number is read
in the end user's own region before comparing.

When crmhub is looking for the end user's records, the same query reads them too: a parent-child
subquery through the lookup object's child relationship (``Cases`` on Contact) brings each
person's candidate records with them, in one call.

A Contact is created only when nothing matches and the end user can be found again next time (a
phone, an email, or an id with an external-id field); with the external-id field it is created by
upsert on the host's id, so a retry can never make a second Contact. The creation is a
:class:`~crmhub_salesforce.writes.Write` the client sends together with the record's.

Matches (and misses) are cached per client for ``person_cache_seconds``: the create that follows a
record lookup for the same session then needs no person query.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import phonenumbers

from crmhub.core.identity import normalise_phone
from crmhub.core.models import EndUser
from crmhub.core.errors import PermanentCrmError
from crmhub_salesforce import soql
from crmhub_salesforce.api import SalesforceApi, query_page
from crmhub_salesforce.config import PersonLookup, SalesforceConfig
from crmhub_salesforce.records import fit_chars
from crmhub_salesforce.writes import Answer, Write, upsert_write, written_id

MATCH_LIMIT = 50
CACHE_SIZE = 1024
LAST_NAME_MAX = 80


@dataclass(frozen=True)
class PersonMatch:
    """A Salesforce person and the record field that links a record to them."""

    object: str
    id: str
    record_field: str


@dataclass(frozen=True)
class RecordsSubquery:
    """The person's candidate records, read in the person query: fields, conditions and order of a
    SOQL subquery on the lookup object's child relationship to the records."""

    fields: Sequence[str]
    where: str
    order_by: str


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

    def cached(self, end_user: EndUser) -> tuple[bool, PersonMatch | None]:
        """``(True, match or None)`` while a lookup of ``end_user`` is remembered, else ``(False, None)``."""
        with self._lock:
            entry = self._cache.get(self._key(end_user))
            if entry is None or entry[0] <= self._clock():
                return False, None
            return True, entry[1]

    def remember(self, end_user: EndUser, match: PersonMatch | None) -> None:
        if self.config.person_cache_seconds <= 0:
            return
        with self._lock:
            key = self._key(end_user)
            self._cache.pop(key, None)
            self._cache[key] = (self._clock() + self.config.person_cache_seconds, match)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)

    def forget(self, end_user: EndUser) -> None:
        """Drop what is cached for ``end_user`` (after a write that used it was refused, or one
        whose outcome is unknown created them)."""
        with self._lock:
            self._cache.pop(self._key(end_user), None)

    # --- finding ----------------------------------------------------------------------------------------

    def find(self, end_user: EndUser) -> PersonMatch | None:
        """The matching person in the first lookup object that has one, or None."""
        known, match = self.cached(end_user)
        if known:
            return match
        found = self._lookup(end_user, None)
        match = found[0] if found else None
        self.remember(end_user, match)
        return match

    def find_with_records(
        self, end_user: EndUser, records: RecordsSubquery,
    ) -> tuple[PersonMatch, list[dict[str, Any]]] | None:
        """The matching person and their records that meet ``records``, asked in one query per
        lookup object (no cache read: the caller asks when the cache has no answer)."""
        found = self._lookup(end_user, records)
        self.remember(end_user, found[0] if found else None)
        return found

    def _lookup(
        self, end_user: EndUser, records: RecordsSubquery | None,
    ) -> tuple[PersonMatch, list[dict[str, Any]]] | None:
        for lookup in self.config.people:
            found = self._find_in(lookup, end_user, records)
            if found is not None:
                return found
        return None

    def _find_in(
        self, lookup: PersonLookup, end_user: EndUser, records: RecordsSubquery | None,
    ) -> tuple[PersonMatch, list[dict[str, Any]]] | None:
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
        wanted = list(dict.fromkeys(wanted))
        if records is not None:
            wanted.append(f"({soql.select(records.fields, lookup.records_relationship, records.where, order_by=records.order_by)})")
        query = soql.select(wanted, lookup.object, " OR ".join(conditions), order_by="CreatedDate ASC", limit=MATCH_LIMIT)
        action = f"look up the end user in {lookup.object}"
        row = self._best(self.api.query(query, action=action), lookup, end_user)
        if row is None:
            return None
        match = PersonMatch(lookup.object, row["Id"], lookup.record_field)
        return match, (self._child_records(row, lookup, action) if records is not None else [])

    def _child_records(self, row: dict[str, Any], lookup: PersonLookup, action: str) -> list[dict[str, Any]]:
        """The subquery's records in a person row: ``null`` when there are none, else a nested query
        result, whose further pages (``done: false``) are read from its ``nextRecordsUrl``."""
        name = lookup.records_relationship
        if name not in row:
            raise PermanentCrmError(f"Salesforce's answer to {action} lacks the {name} subquery of {lookup.object} {row['Id']}")
        nested = row[name]
        if nested is None:
            return []
        batch, next_url = query_page(nested, f"{action} ({name} of {row['Id']})")
        return batch + (self.api.query_more(next_url, action=action) if next_url else [])

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

    def creation(self, end_user: EndUser, reference: str) -> Write | None:
        """The write that creates ``end_user`` as a Contact when nobody matched, if the settings
        allow it and the end user can be found again by it; else None (the record is then created
        without a person)."""
        if not self.config.create_contacts:
            return None
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
            return upsert_write(contact.object, contact.external_id_field, end_user.id, body, action=action, reference=reference)
        return Write("POST", f"sobjects/{contact.object}", body, action, reference, may_have_applied=True)

    def created(self, end_user: EndUser, write: Write, answer: Answer) -> PersonMatch:
        """The Contact :meth:`creation`'s write made (remembered for the next sessions)."""
        contact = self.config.contact_lookup
        match = PersonMatch(contact.object, written_id(self.api, write, answer), contact.record_field)
        self.remember(end_user, match)
        return match
