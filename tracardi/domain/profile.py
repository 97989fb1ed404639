"""The customer profile: one per person, Tracardi's 0.8.2/0.9 shape."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from tracardi.domain.common import Geo

_f = msgspec.field


class ProfileVisit(msgspec.Struct, kw_only=True):
    last: datetime | None = None
    current: datetime | None = None
    count: int = 0
    tz: str | None = None


class ProfileTime(msgspec.Struct, kw_only=True):
    insert: datetime | None = None
    create: datetime | None = None
    update: datetime | None = None
    segmentation: datetime | None = None
    visit: ProfileVisit = _f(default_factory=ProfileVisit)


class ProfileMetadata(msgspec.Struct, kw_only=True):
    time: ProfileTime = _f(default_factory=ProfileTime)
    aux: dict[str, Any] = {}
    status: str | None = None
    fields: dict[str, Any] = {}
    system: dict[str, Any] = {}


class ProfileStats(msgspec.Struct, kw_only=True):
    visits: int = 0
    views: int = 0
    counters: dict[str, float] = {}


class Language(msgspec.Struct, kw_only=True):
    native: str | None = None
    spoken: str | list[str] | None = None


class PII(msgspec.Struct, kw_only=True):
    firstname: str | None = None
    lastname: str | None = None
    display_name: str | None = None
    birthday: datetime | None = None
    language: Language = _f(default_factory=Language)
    gender: str | None = None
    education: dict[str, Any] = {}
    civil: dict[str, Any] = {}
    attributes: dict[str, Any] = {}


class ContactEmail(msgspec.Struct, kw_only=True):
    main: str | None = None
    private: str | None = None
    business: str | None = None


class ContactPhone(msgspec.Struct, kw_only=True):
    main: str | None = None
    business: str | None = None
    mobile: str | None = None
    whatsapp: str | None = None


class ContactAddress(msgspec.Struct, kw_only=True):
    town: str | None = None
    county: str | None = None
    country: str | None = None
    postcode: str | None = None
    street: str | None = None
    other: str | None = None


class Contact(msgspec.Struct, kw_only=True):
    email: ContactEmail = _f(default_factory=ContactEmail)
    phone: ContactPhone = _f(default_factory=ContactPhone)
    app: dict[str, Any] = {}
    address: ContactAddress = _f(default_factory=ContactAddress)
    confirmations: list[str] = []


class Identifier(msgspec.Struct, kw_only=True):
    id: str | None = None
    pk: str | None = None
    badge: str | None = None
    passport: str | None = None
    credit_card: str | None = None
    token: str | None = None
    coupons: str | list[str] | None = None


class LastDevice(msgspec.Struct, kw_only=True):
    geo: Geo = _f(default_factory=Geo)


class Devices(msgspec.Struct, kw_only=True):
    push: list[str] = []
    other: list[str] = []
    last: LastDevice = _f(default_factory=LastDevice)


class Media(msgspec.Struct, kw_only=True):
    image: str | None = None
    webpage: str | None = None
    social: dict[str, Any] = {}


class Preferences(msgspec.Struct, kw_only=True):
    purchases: list[str] = []
    colors: list[str] = []
    sizes: list[str] = []
    devices: list[str] = []
    channels: list[str] = []
    payments: list[str] = []
    brands: list[str] = []
    fragrances: list[str] = []
    services: list[str] = []
    other: list[str] = []


class Job(msgspec.Struct, kw_only=True):
    position: str | None = None
    salary: float | None = None
    type: str | None = None
    company: dict[str, Any] = {}
    department: str | None = None


class Metrics(msgspec.Struct, kw_only=True):
    ltv: float = 0
    ltcosc: float = 0
    ltcocc: float = 0
    ltcop: float = 0
    ltcosv: float = 0
    ltcocv: float = 0
    next: datetime | None = None
    custom: dict[str, Any] = {}


class Loyalty(msgspec.Struct, kw_only=True):
    codes: list[str] = []
    card: dict[str, Any] = {}


class ProfileData(msgspec.Struct, kw_only=True):
    """Typed personal sections of a profile."""

    anonymous: bool | None = None
    pii: PII = _f(default_factory=PII)
    contact: Contact = _f(default_factory=Contact)
    identifier: Identifier = _f(default_factory=Identifier)
    devices: Devices = _f(default_factory=Devices)
    media: Media = _f(default_factory=Media)
    preferences: Preferences = _f(default_factory=Preferences)
    job: Job = _f(default_factory=Job)
    metrics: Metrics = _f(default_factory=Metrics)
    loyalty: Loyalty = _f(default_factory=Loyalty)


class Profile(msgspec.Struct, kw_only=True):
    """One customer: every id that resolves to them, visit statistics, traits, segments and personal data."""

    id: str
    primary_id: str | None = None
    ids: list[str] = []
    metadata: ProfileMetadata = _f(default_factory=ProfileMetadata)
    stats: ProfileStats = _f(default_factory=ProfileStats)
    traits: dict[str, Any] = {}
    segments: list[str] = []
    interests: dict[str, float] = {}
    consents: dict[str, Any] = {}
    active: bool = True
    aux: dict[str, Any] = {}
    data: ProfileData = _f(default_factory=ProfileData)


def new_profile(profile_id: str, now: datetime) -> Profile:
    """A fresh profile created at ``now``."""
    profile = Profile(id=profile_id, ids=[profile_id])
    profile.metadata.time.insert = now
    profile.metadata.time.create = now
    return profile
