"""Building blocks shared by profiles, sessions and events (Tracardi's field names)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec


class Entity(msgspec.Struct, kw_only=True):
    """A reference to another document by id."""

    id: str


class PrimaryEntity(msgspec.Struct, kw_only=True):
    """A reference to a profile: its id and, where known, its primary id."""

    id: str
    primary_id: str | None = None


class NamedEntity(msgspec.Struct, kw_only=True):
    """A reference with a display name (rules, flows, bridges)."""

    id: str
    name: str = ""


class Country(msgspec.Struct, kw_only=True):
    name: str | None = None
    code: str | None = None


class Geo(msgspec.Struct, kw_only=True):
    """Where a device was: country, city, coordinates."""

    country: Country = msgspec.field(default_factory=Country)
    city: str | None = None
    county: str | None = None
    postal: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    location: list[float] | None = None


class UTM(msgspec.Struct, kw_only=True):
    """Campaign parameters of a visit."""

    source: str | None = None
    medium: str | None = None
    campaign: str | None = None
    term: str | None = None
    content: str | None = None


class OS(msgspec.Struct, kw_only=True):
    name: str | None = None
    version: str | None = None


class Device(msgspec.Struct, kw_only=True):
    """The visitor's device, from the user agent and the tracker context."""

    name: str | None = None
    brand: str | None = None
    model: str | None = None
    type: str | None = None
    touch: bool = False
    ip: str | None = None
    resolution: str | None = None
    geo: Geo = msgspec.field(default_factory=Geo)
    color_depth: int | None = None
    orientation: str | None = None


class Application(msgspec.Struct, kw_only=True):
    """The client application (a browser, usually)."""

    type: str | None = None
    name: str | None = None
    version: str | None = None
    language: str | None = None
    bot: bool = False
    resolution: str | None = None


class Hit(msgspec.Struct, kw_only=True):
    """The page an event happened on."""

    name: str | None = None
    url: str | None = None
    referer: str | None = None
    query: str | None = None
    category: str | None = None


class Time(msgspec.Struct, kw_only=True):
    insert: datetime | None = None
    create: datetime | None = None
    update: datetime | None = None


JSONDict = dict[str, Any]
