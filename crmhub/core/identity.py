"""Who the end user is: the key that makes two sessions "the same end user" (SPEC section 3).

Matched by ``end_user.id``; without an id by phone in E.164 form; without either by email,
case-insensitively. A session with none of the three is anonymous and has no key.
"""

from __future__ import annotations

import phonenumbers

from crmhub.core.models import EndUser


def normalise_phone(number: str, default_region: str | None = None) -> str:
    """E.164 form of ``number`` (``+14155550100``); digits with a ``+`` if it cannot be parsed.

    ``default_region`` (``"US"``) is used for numbers written without a country code.
    """
    try:
        parsed = phonenumbers.parse(number, default_region)
        if phonenumbers.is_possible_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException:
        pass
    digits = "".join(ch for ch in number if ch.isdigit())
    return "+" + digits if digits else number.strip()


def end_user_key(end_user: EndUser | None, default_region: str | None = None) -> str | None:
    """``id:…``, ``phone:+…`` or ``email:…``; None for an anonymous session."""
    if end_user is None:
        return None
    if end_user.id:
        return f"id:{end_user.id}"
    if end_user.phone:
        return f"phone:{normalise_phone(end_user.phone, default_region)}"
    if end_user.email:
        return f"email:{end_user.email.strip().lower()}"
    return None
