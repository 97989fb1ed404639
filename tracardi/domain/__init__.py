"""The pure model of the CDP: profiles, sessions, events, sources, payloads, queries and dot paths."""

from tracardi.domain.errors import (
    Conflict,
    DomainError,
    EventRejected,
    FieldError,
    InvalidInput,
    NotFoundError,
    SourceRejected,
)
from tracardi.domain.event import Event
from tracardi.domain.payload import EventPayload, TrackerPayload, TrackResponse
from tracardi.domain.profile import Profile
from tracardi.domain.session import Session
from tracardi.domain.source import EventSource

__all__ = [
    "Conflict",
    "DomainError",
    "Event",
    "EventPayload",
    "EventRejected",
    "EventSource",
    "FieldError",
    "InvalidInput",
    "NotFoundError",
    "Profile",
    "Session",
    "SourceRejected",
    "TrackResponse",
    "TrackerPayload",
]
