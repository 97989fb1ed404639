"""Turn the events of a tracker payload into stored Events, and make the system events of a visit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from tracardi.domain.common import Entity, Hit, PrimaryEntity
from tracardi.domain.event import Event, EventMetadata, EventSession, EventTime, Tags, event_name, normalize_event_type
from tracardi.domain.payload import EventPayload, TrackerPayload
from tracardi.domain.profile import Profile
from tracardi.domain.session import Session

INTERNAL_SOURCE_ID = "@internal"


def _utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _hit(context: dict[str, Any]) -> Hit:
    page = context.get("page")
    if not isinstance(page, dict):
        return Hit()
    referer = page.get("referer")
    host = referer.get("host") if isinstance(referer, dict) else referer
    title, url = page.get("title"), page.get("url")
    return Hit(
        name=title if isinstance(title, str) else None,
        url=url if isinstance(url, str) else None,
        referer=host if isinstance(host, str) else None,
    )


class EventFactory:
    """Builds the Events of one tracking call, sharing what every event of the call has in common."""

    def __init__(
        self,
        *,
        source_id: str,
        channel: str,
        session: Session | None,
        profile: Profile | None,
        request: dict[str, Any],
        ip: str | None,
        now: datetime,
        new_id: Callable[[datetime], str],
        debug: bool,
    ) -> None:
        self._source = Entity(id=source_id)
        self._channel = channel or None
        self._session = session
        self._profile = profile
        self._request = request
        self._ip = ip
        self._now = now
        self._new_id = new_id
        self._debug = debug

    def _event_session(self) -> EventSession | None:
        s = self._session
        if s is None:
            return None
        return EventSession(id=s.id, start=s.metadata.time.insert, tz=(s.context.get("time") or {}).get("tz"))

    def build(self, ep: EventPayload, payload_context: dict[str, Any]) -> Event:
        """One stored event from one payload event."""
        etype = normalize_event_type(ep.type)
        ptime = ep.time
        insert = _utc(ptime.insert) if ptime and ptime.insert else self._now
        create = _utc(ptime.create) if ptime and ptime.create else self._now
        context = ep.context or {}
        tags = ep.tags or []
        event = Event(
            id=(ep.id or "").strip().lower() or self._new_id(self._now),
            type=etype,
            name=event_name(etype),
            metadata=EventMetadata(
                time=EventTime(insert=insert, create=create),
                ip=self._ip,
                channel=self._channel,
                profile_less=self._profile is None,
                debug=self._debug,
            ),
            source=self._source,
            session=self._event_session(),
            profile=PrimaryEntity(id=self._profile.id, primary_id=self._profile.primary_id) if self._profile else None,
            properties=ep.properties or {},
            context=context,
            request=self._request,
            config=ep.options or {},
            tags=Tags(values=tags, count=len(tags)),
            hit=_hit(context) if "page" in context else _hit(payload_context),
        )
        self._copy_session_parts(event)
        return event

    def _copy_session_parts(self, event: Event) -> None:
        s = self._session
        if s is not None:
            event.utm, event.os, event.app, event.device = s.utm, s.os, s.app, s.device

    def system(self, etype: str, seconds_before: int, properties: dict[str, Any]) -> Event:
        """A system event (``profile-created``, ``visit-started``, ``session-opened``) of this call."""
        when = self._now - timedelta(seconds=seconds_before)
        event = Event(
            id=self._new_id(when),
            type=etype,
            name=event_name(etype),
            metadata=EventMetadata(time=EventTime(insert=when, create=when), ip=self._ip, channel=self._channel),
            source=Entity(id=INTERNAL_SOURCE_ID),
            session=self._event_session(),
            profile=PrimaryEntity(id=self._profile.id) if self._profile else None,
            properties=properties,
            config={"async": True},
        )
        self._copy_session_parts(event)
        return event


def system_events(
    factory: EventFactory, payload: TrackerPayload, *, new_profile: bool, new_session: bool
) -> list[Event]:
    """The visit's system events, appended after the user events (none when the payload ends the visit)."""
    types = [normalize_event_type(e.type) for e in payload.events]
    if "visit-ended" in types:
        return []
    out: list[Event] = []
    if new_profile and "profile-created" not in types:
        out.append(factory.system("profile-created", 3, {}))
    if new_session:
        out.append(factory.system("visit-started", 1, {"trigger-event-types": types}))
        out.append(factory.system("session-opened", 2, {}))
    return out
