"""Parsing host events (SPEC section 2) into :class:`~crmhub.core.models.Event`.

The event schema is marshmallow's, and it words every error: a single :class:`InvalidEvent` that
names the first offending field as a dotted path. Loading an event through four nested schemas
costs more CPU than everything else crmhub does with it, though, so a valid event takes a plain
path (:func:`_plainly_valid`) that checks the same constraints and builds the :class:`Event`
directly; whatever that path is not sure of goes through the schema. A test holds the two paths
to the same verdict and the same result.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import INCLUDE, Schema, ValidationError, fields, validate, validates_schema

from crmhub.core.errors import InvalidEvent
from crmhub.core.schema_fields import Rfc3339DateTime, StrictBoolean, parse_rfc3339
from crmhub.core.models import CHANNELS, EVENT_TYPES, EndUser, Event, LeafQueue, Session

MESSAGE_SENDERS = ("end_user", "agent", "system")


class _Open(Schema):
    class Meta:
        unknown = INCLUDE


class LeafQueueSchema(_Open):
    id = fields.String(required=True, validate=validate.Length(min=1))
    path = fields.List(fields.String(), load_default=list)


class EndUserSchema(_Open):
    id = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    name = fields.String(allow_none=True)


class SessionSchema(_Open):
    id = fields.String(required=True, validate=validate.Length(min=1))
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    session_type = fields.String(allow_none=True)
    leaf_queue = fields.Nested(LeafQueueSchema, allow_none=True)
    end_user = fields.Nested(EndUserSchema, allow_none=True)
    dialed_number = fields.String(allow_none=True)
    language = fields.String(allow_none=True)
    menu_path = fields.String(allow_none=True)
    started_at = Rfc3339DateTime(allow_none=True)


class MessageSchema(_Open):
    from_ = fields.String(data_key="from", required=True, validate=validate.OneOf(MESSAGE_SENDERS))
    text = fields.String(allow_none=True)


class EventSchema(_Open):
    id = fields.String(required=True, validate=validate.Length(min=1))
    type = fields.String(required=True, validate=validate.OneOf(EVENT_TYPES))
    at = Rfc3339DateTime(required=True)
    session = fields.Nested(SessionSchema, required=True)
    agent = fields.Dict(allow_none=True)
    message = fields.Nested(MessageSchema, allow_none=True)
    short = StrictBoolean(allow_none=True)

    @validates_schema
    def _message_on_message_events(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("type") == "session.message" and not data.get("message"):
            raise ValidationError("required on session.message events", field_name="message")


_SCHEMA = EventSchema()


def _first_error(messages: Any, prefix: str = "") -> tuple[str, str]:
    """The first (dotted field, message) pair of a marshmallow error tree."""
    if isinstance(messages, Mapping):
        key, value = next(iter(messages.items()))
        name = prefix if key == "_schema" else (f"{prefix}.{key}" if prefix else str(key))
        return _first_error(value, name)
    if isinstance(messages, list) and messages:
        return _first_error(messages[0], prefix)
    return prefix or "event", str(messages)


def parse_event(raw: Any) -> Event:
    """Validate one event mapping; raise :class:`InvalidEvent` naming the field on any problem."""
    if not isinstance(raw, Mapping):
        raise InvalidEvent("event", "must be a JSON object")
    if _plainly_valid(raw):
        message = raw.get("message") or {}
        return _event(raw, parse_rfc3339(raw["at"]), message.get("from"), message.get("text"))
    return _parse_with_schema(raw)


def _parse_with_schema(raw: Mapping[str, Any]) -> Event:
    try:
        data = _SCHEMA.load(raw)
    except ValidationError as error:
        field_name, message = _first_error(error.messages)
        raise InvalidEvent(field_name, message) from None
    message = data.get("message") or {}
    return _event(raw, data["at"], message.get("from_"), message.get("text"))


def _event(raw: Mapping[str, Any], at: Any, message_from: str | None, message_text: str | None) -> Event:
    session = dict(raw["session"])
    return Event(
        id=raw["id"],
        type=raw["type"],
        at=at,
        session_id=session["id"],
        channel=session["channel"],
        session_fields=session,
        agent=raw.get("agent"),
        message_from=message_from,
        message_text=message_text,
        short=raw.get("short"),
        raw=dict(raw),
    )


def _plainly_valid(raw: Mapping[str, Any]) -> bool:
    """True only if :data:`EventSchema` would load ``raw`` without error (the plain path).

    Stricter than the schema where that keeps it short (a field of the wrong type is left to the
    schema, which may coerce or reject it): False means "ask the schema", never "invalid".
    """
    session = raw.get("session")
    message = raw.get("message")
    return (
        _text(raw.get("id"))
        and raw.get("type") in EVENT_TYPES
        and parse_rfc3339(raw.get("at")) is not None
        and type(session) is dict
        and _text(session.get("id"))
        and session.get("channel") in CHANNELS
        and all(_none_or_str(session.get(key)) for key in _OPTIONAL_SESSION_TEXT)
        and _leaf_queue_ok(session.get("leaf_queue"))
        and _end_user_ok(session.get("end_user"))
        and (session.get("started_at") is None or parse_rfc3339(session["started_at"]) is not None)
        and (raw.get("agent") is None or type(raw["agent"]) is dict)
        and (raw.get("short") is None or type(raw["short"]) is bool)
        and (
            type(message) is dict and message.get("from") in MESSAGE_SENDERS and _none_or_str(message.get("text"))
            if message is not None or raw["type"] == "session.message"
            else True
        )
    )


_OPTIONAL_SESSION_TEXT = ("session_type", "dialed_number", "language", "menu_path")


def _text(value: Any) -> bool:
    return type(value) is str and value != ""


def _none_or_str(value: Any) -> bool:
    return value is None or type(value) is str


def _leaf_queue_ok(queue: Any) -> bool:
    if queue is None:
        return True
    path = queue.get("path") if type(queue) is dict else None
    return (
        type(queue) is dict
        and _text(queue.get("id"))
        and (path is None and "path" not in queue or type(path) is list and all(type(p) is str for p in path))
    )


def _end_user_ok(user: Any) -> bool:
    return user is None or type(user) is dict and all(
        _none_or_str(user.get(key)) for key in ("id", "phone", "email", "name")
    )


_KNOWN_SESSION_KEYS = {
    "id", "channel", "session_type", "leaf_queue", "end_user", "dialed_number", "language",
    "menu_path", "started_at",
}


def merge_session_fields(known: Mapping[str, Any], incoming: Mapping[str, Any]) -> dict[str, Any]:
    """Keep, key by key, the latest value received; ``end_user``/``leaf_queue`` replace whole."""
    merged = dict(known)
    merged.update(incoming)
    return merged


def session_from_fields(fields_: Mapping[str, Any]) -> Session:
    """Build the typed :class:`Session` view of raw (already validated) session keys."""
    queue = fields_.get("leaf_queue")
    user = fields_.get("end_user")
    started = fields_.get("started_at")
    return Session(
        id=fields_["id"],
        channel=fields_["channel"],
        session_type=fields_.get("session_type"),
        leaf_queue=LeafQueue(id=queue["id"], path=tuple(queue.get("path") or ())) if queue else None,
        end_user=EndUser(
            id=user.get("id") or None,
            phone=user.get("phone") or None,
            email=user.get("email") or None,
            name=user.get("name") or None,
        )
        if user
        else None,
        dialed_number=fields_.get("dialed_number"),
        language=fields_.get("language"),
        menu_path=fields_.get("menu_path"),
        started_at=parse_rfc3339(started) if started else None,
        extra={k: v for k, v in fields_.items() if k not in _KNOWN_SESSION_KEYS},
    )
