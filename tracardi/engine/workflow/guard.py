"""Keep a flow from saving what it broke: msgspec Structs do not check types on assignment, so an action can put
a string into ``stats.visits``. After each flow run the profile, session and event are encoded and, when they
changed, decoded again (which validates them); a run that left any of them invalid is undone as a whole."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec

from tracardi.domain.event import Event
from tracardi.domain.profile import Profile
from tracardi.domain.session import Session

T = TypeVar("T")
_encoder = msgspec.json.Encoder()


class Codec(Generic[T]):
    """Encode and validate-decode one document type (built once)."""

    def __init__(self, doc_type: type[T]) -> None:
        self.decoder: msgspec.json.Decoder[T] = msgspec.json.Decoder(doc_type)

    @staticmethod
    def encode(doc: Any) -> bytes | None:
        """The JSON of ``doc``; None when an action put something in it that JSON cannot hold."""
        try:
            return _encoder.encode(doc)
        except (TypeError, ValueError, OverflowError):
            return None


def encode(doc: Any) -> bytes | None:
    """The JSON of a document, or None for none (to tell whether flows changed it)."""
    return None if doc is None else Codec.encode(doc)


PROFILE: Codec[Profile] = Codec(Profile)
SESSION: Codec[Session] = Codec(Session)
EVENT: Codec[Event] = Codec(Event)


@dataclass(slots=True)
class Snapshot:
    """The profile, session and event as encoded before a flow run."""

    profile: bytes | None
    session: bytes | None
    event: bytes
    profile_id: str | None

    @classmethod
    def take(cls, profile: Profile | None, session: Session | None, event: Event) -> Snapshot:
        return cls(
            _encoder.encode(profile) if profile is not None else None,
            _encoder.encode(session) if session is not None else None,
            _encoder.encode(event),
            profile.id if profile is not None else None,
        )


@dataclass(slots=True)
class Checked:
    """The entities after a run: validated copies where they changed, the originals where not; ``error`` says why
    the run's changes were undone (then every entity is its snapshot again)."""

    profile: Profile | None
    session: Session | None
    event: Event
    error: str | None = None
    profile_json: bytes | None = None
    """The profile's JSON as checked (to tell, without encoding again, whether flows changed it)."""
    session_json: bytes | None = None


def _revalidate(codec: Codec[T], doc: T, before: bytes, label: str) -> tuple[T, bytes]:
    after = codec.encode(doc)
    if after is None:
        raise ValueError(f"the {label} holds a value that is not JSON")
    if after == before:
        return doc, after
    try:
        return codec.decoder.decode(after), after
    except msgspec.ValidationError as exc:
        raise ValueError(f"the {label} is invalid: {exc}") from exc


def check(snapshot: Snapshot, profile: Profile | None, session: Session | None, event: Event) -> Checked:
    """Validate what a run left; on a problem return the snapshot's entities and the error."""
    out = Checked(profile, session, event, None, snapshot.profile, snapshot.session)
    try:
        if profile is not None and snapshot.profile is not None:
            new_profile, out.profile_json = _revalidate(PROFILE, profile, snapshot.profile, "profile")
            if new_profile.id != snapshot.profile_id:
                raise ValueError("a flow may not change the profile id")
            out.profile = new_profile
        if session is not None and snapshot.session is not None:
            new_session, out.session_json = _revalidate(SESSION, session, snapshot.session, "session")
            out.session = new_session
        out.event, _ = _revalidate(EVENT, event, snapshot.event, "event")
        return out
    except ValueError as exc:
        return Checked(
            PROFILE.decoder.decode(snapshot.profile) if snapshot.profile is not None else None,
            SESSION.decoder.decode(snapshot.session) if snapshot.session is not None else None,
            EVENT.decoder.decode(snapshot.event),
            f"{exc}; the flow's changes were undone",
            snapshot.profile,
            snapshot.session,
        )
