"""Who the end user is: the key that makes two sessions "the same end user" (SPEC section 3).

Matched by ``end_user.id``; without an id by phone in E.164 form; without either by email,
case-insensitively. A session with none of the three is anonymous and has no key.
"""

from __future__ import annotations

from functools import lru_cache

import phonenumbers

from crmhub.core.models import EndUser


@lru_cache(maxsize=4096)
def e164(number: str, default_region: str | None = None) -> str | None:
    """E.164 form of ``number`` (``+14155550100``), or None if it cannot be read as one.

    ``default_region`` (``"US"``) is used for numbers written without a country code. Without
    one, a number written without ``+`` is read as international digits (``1-415-555-0100``)
    only when that gives a valid number, so that a national number never passes for a foreign one.
    Cached: a pure function of its arguments, and the same callers' numbers come back all day.
    """
    try:
        parsed = phonenumbers.parse(number, default_region)
        return _formatted(parsed) if phonenumbers.is_possible_number(parsed) else None
    except phonenumbers.NumberParseException:
        pass
    digits = "".join(ch for ch in number if ch.isdigit())
    if default_region is None and digits:
        try:
            parsed = phonenumbers.parse("+" + digits, None)
        except phonenumbers.NumberParseException:
            return None
        return _formatted(parsed) if phonenumbers.is_valid_number(parsed) else None
    return None


def _formatted(parsed: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalise_phone(number: str, default_region: str | None = None) -> str:
    """E.164 form of ``number``; digits with a ``+`` if it cannot be parsed (what a CRM search
    for a number written without a country code is best given)."""
    digits = "".join(ch for ch in number if ch.isdigit())
    return e164(number, default_region) or ("+" + digits if digits else number.strip())


def end_user_keys(end_user: EndUser | None, default_region: str | None = None) -> list[str]:
    """Every key the end user can be known by, strongest first: ``id:…``, ``phone:+…``, ``email:…``.

    A record remembers all of them; a later session is matched by its own strongest key, so a
    caller known only by phone finds the record made when the app also sent their id.
    """
    if end_user is None:
        return []
    keys = []
    if end_user.id:
        keys.append(f"id:{end_user.id}")
    if end_user.phone:
        number = e164(end_user.phone, default_region)
        # Not E.164: keep the digits apart, so they never pass for a real international number.
        keys.append(f"phone:{number}" if number else "phone-digits:" + "".join(c for c in end_user.phone if c.isdigit()))
    if end_user.email:
        keys.append(f"email:{end_user.email.strip().lower()}")
    return keys


def end_user_key(end_user: EndUser | None, default_region: str | None = None) -> str | None:
    """The key a session's end user is matched by (``id:…``, else ``phone:+…``, else ``email:…``);
    None for an anonymous session."""
    keys = end_user_keys(end_user, default_region)
    return keys[0] if keys else None
