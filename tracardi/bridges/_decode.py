"""Turn a broker message into a tracker payload: a /track body as is, or a foreign JSON shape through a Mapping.

Every event gets an id derived from the source and the message id (unless the message names one), so a message
delivered twice becomes the same events twice, never two sets: that is what makes redelivery idempotent.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

from tracardi.bridges._base import BridgeConfig, Delivery, Mapping
from tracardi.domain import dotpath
from tracardi.domain.payload import EventPayload, EventPayloadTime, OptionalRef, SourceRef, TrackerPayload

_EVENT_IDS = uuid.UUID("5b0e7d3c-8a39-4d2e-9f3c-6a1d7e0b2c41")  # namespace of the ids of bridged events


class InvalidMessage(Exception):
    """The message can never be tracked; the text says why (it travels with the dead letter)."""


class _QueuedPayload(TrackerPayload, kw_only=True):
    """A /track body whose source may be left out: the bridge's source is the one it is tracked under."""

    source: SourceRef = msgspec.field(default_factory=lambda: SourceRef(id=""))


def event_id(source_id: str, message_id: str, index: int) -> str:
    """The id of the ``index``-th event of a message: the same for every delivery of that message."""
    return str(uuid.uuid5(_EVENT_IDS, f"{source_id}\x00{message_id}\x00{index}"))


def _text(value: Any, path: str) -> str | None:
    if value is dotpath.MISSING or value is None:
        return None
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value)
    raise InvalidMessage(f"`{path}` must be a string, got {type(value).__name__}")


def _object(value: Any, path: str) -> dict[str, Any] | None:
    if value is dotpath.MISSING or value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidMessage(f"`{path}` must be an object, got {type(value).__name__}")
    return value


class MessageDecoder:
    """Decodes the messages of one bridge (decoders built once, reused for every message)."""

    def __init__(self, source_id: str, config: BridgeConfig) -> None:
        self._source_id = source_id
        self._config = config
        self._track = msgspec.json.Decoder(_QueuedPayload)
        self._any = msgspec.json.Decoder()

    def decode(self, delivery: Delivery) -> tuple[str, TrackerPayload]:
        """The message id and the payload; raises InvalidMessage."""
        body = delivery.body
        if len(body) > self._config.max_bytes:
            raise InvalidMessage(f"message of {len(body)} bytes is over max_bytes ({self._config.max_bytes})")
        mapping = self._config.mapping
        doc = self._json(body) if (mapping is not None or self._config.id_path) else None
        payload = self._mapped(doc, mapping) if mapping is not None else self._track_body(body)
        message_id = self._message_id(doc, delivery)
        for i, event in enumerate(payload.events):
            if not (event.id or "").strip():
                event.id = event_id(self._source_id, message_id, i)
        return message_id, payload

    def _json(self, body: bytes) -> Any:
        try:
            return self._any.decode(body)
        except msgspec.DecodeError as exc:
            raise InvalidMessage(f"not JSON: {exc}") from exc

    def _message_id(self, doc: Any, delivery: Delivery) -> str:
        path = self._config.id_path
        if not path:
            return delivery.id
        found = _text(dotpath.get(doc, path), path)
        if not found:
            raise InvalidMessage(f"`{path}` (the message id) is missing")
        return found

    def _track_body(self, body: bytes) -> TrackerPayload:
        try:
            payload = self._track.decode(body)
        except msgspec.DecodeError as exc:  # ValidationError is a DecodeError
            raise InvalidMessage(f"not a /track body: {exc}") from exc
        named = payload.source.id.strip().lower()
        if named and named != self._source_id:
            raise InvalidMessage(f"the message names source `{named}`; this bridge feeds `{self._source_id}`")
        payload.source = SourceRef(id=self._source_id)
        return payload

    def _mapped(self, doc: Any, mapping: Mapping) -> TrackerPayload:
        if not isinstance(doc, dict):
            raise InvalidMessage(f"the message must be a JSON object, got {type(doc).__name__}")
        etype = _text(dotpath.get(doc, mapping.event_type), mapping.event_type)
        if not etype or not etype.strip():
            raise InvalidMessage(f"`{mapping.event_type}` (the event type) is missing or empty")
        properties = _object(dotpath.get(doc, mapping.properties), mapping.properties) if mapping.properties else doc
        context = _object(dotpath.get(doc, mapping.context), mapping.context) if mapping.context else None
        event = EventPayload(type=etype, properties=properties, context=context, time=self._time(doc, mapping))
        profile = _text(dotpath.get(doc, mapping.profile_id), mapping.profile_id) if mapping.profile_id else None
        session = _text(dotpath.get(doc, mapping.session_id), mapping.session_id) if mapping.session_id else None
        return TrackerPayload(
            source=SourceRef(id=self._source_id),
            profile=OptionalRef(id=profile) if profile else None,
            session=OptionalRef(id=session) if session else None,
            events=[event],
        )

    def _time(self, doc: Any, mapping: Mapping) -> EventPayloadTime | None:
        if not mapping.time:
            return None
        value = _text(dotpath.get(doc, mapping.time), mapping.time)
        if value is None:
            return None
        try:
            when = msgspec.convert(value, datetime)
        except msgspec.ValidationError as exc:
            raise InvalidMessage(f"`{mapping.time}` is not an ISO 8601 time: {exc}") from exc
        return EventPayloadTime(insert=when, create=when)
