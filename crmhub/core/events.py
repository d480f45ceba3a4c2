"""Parsing host events (SPEC section 2) into :class:`~crmhub.core.models.Event`.

Validation is marshmallow's; what this module adds is a single :class:`InvalidEvent` that names the
first offending field as a dotted path, and the merge of session keys into what is known so far.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import INCLUDE, Schema, ValidationError, fields, validate, validates_schema

from crmhub.core.errors import InvalidEvent
from crmhub.core.schema_fields import Rfc3339DateTime, StrictBoolean
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
    try:
        data = _SCHEMA.load(raw)
    except ValidationError as error:
        field_name, message = _first_error(error.messages)
        raise InvalidEvent(field_name, message) from None
    session = dict(raw["session"])
    message = data.get("message") or {}
    return Event(
        id=data["id"],
        type=data["type"],
        at=data["at"],
        session_id=data["session"]["id"],
        channel=data["session"]["channel"],
        session_fields=session,
        agent=data.get("agent"),
        message_from=message.get("from_"),
        message_text=message.get("text"),
        short=data.get("short"),
        raw=dict(raw),
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
        started_at=SessionSchema().fields["started_at"].deserialize(started) if started else None,
        extra={k: v for k, v in fields_.items() if k not in _KNOWN_SESSION_KEYS},
    )
