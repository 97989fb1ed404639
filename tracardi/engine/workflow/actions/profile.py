"""Profile statistics, interests and consents: views and visits, ``profile.interests``, ``profile.consents``."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, ClassVar

import msgspec

from tracardi.domain import refs
from tracardi.engine.workflow.action import Action, ActionError, Fired, FlowContext, NoConfig, Result, parse_ref
from tracardi.engine.workflow.actions._common import OUT_WITH_ERROR
from tracardi.engine.workflow.actions._interval import parse_interval

_NAME = re.compile(r"[A-Za-z0-9_-]{1,100}")
MAX_INTERESTS = 500
MAX_CONSENTS = 200


class IncreaseViews(Action[NoConfig]):
    """Add one to ``profile.stats.views`` (the collector already counts ``page-view`` events itself)."""

    id = "increase-views"
    name = "Increase views"
    outputs: ClassVar[tuple[str, ...]] = OUT_WITH_ERROR

    async def run(self, payload: Any, ctx: FlowContext) -> Fired:
        ctx.require_profile().stats.views += 1
        return Result("payload", payload)


class IncreaseVisits(Action[NoConfig]):
    """Add one to ``profile.stats.visits`` (the collector already counts each new session itself)."""

    id = "increase-visits"
    name = "Increase visits"
    outputs: ClassVar[tuple[str, ...]] = OUT_WITH_ERROR

    async def run(self, payload: Any, ctx: FlowContext) -> Fired:
        ctx.require_profile().stats.visits += 1
        return Result("payload", payload)


def _name_or_ref(text: str, what: str) -> refs.Ref | str:
    """A literal name (``[A-Za-z0-9_-]``, as Tracardi allows) or a reference read at run time (``event@x``)."""
    if "@" in text:
        return parse_ref(text)
    if not _NAME.fullmatch(text):
        raise ValueError(f"{what} {text[:100]!r}: use 1 to 100 of A-Z a-z 0-9 _ - or a reference such as event@x")
    return text


def _resolve(ctx: FlowContext, name: refs.Ref | str, what: str) -> str:
    if isinstance(name, str):
        return name
    value = ctx.read(name, None)
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise ActionError(f"{name} does not hold a valid {what} name: {str(value)[:100]!r}")
    return value


class InterestConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    interest: str
    """The interest name, or a reference holding it (``event@properties.category``)."""
    value: float = 1.0
    """The value to set, add or subtract."""

    def __post_init__(self) -> None:
        _name_or_ref(self.interest, "interest")


class _Interest(Action[InterestConfig]):
    config_type = InterestConfig
    outputs: ClassVar[tuple[str, ...]] = OUT_WITH_ERROR

    def __init__(self, config: InterestConfig) -> None:
        super().__init__(config)
        self._name = _name_or_ref(config.interest, "interest")

    async def run(self, payload: Any, ctx: FlowContext) -> Fired:
        profile = ctx.require_profile()
        name = _resolve(ctx, self._name, "interest")
        interests = profile.interests
        if name not in interests and len(interests) >= MAX_INTERESTS:
            raise ActionError(f"a profile may have at most {MAX_INTERESTS} interests")
        self.apply(interests, name)
        return Result("payload", payload)

    def apply(self, interests: dict[str, float], name: str) -> None:
        raise NotImplementedError


class AddInterest(_Interest):
    """Set ``profile.interests[interest]`` to ``value``; a profile-less event fires ``error``."""

    id = "add-interest"
    name = "Add interest"

    def apply(self, interests: dict[str, float], name: str) -> None:
        interests[name] = self.config.value


class IncreaseInterest(_Interest):
    """Add ``value`` to an interest (a missing one starts at 0)."""

    id = "increase-interest"
    name = "Increase interest"

    def apply(self, interests: dict[str, float], name: str) -> None:
        interests[name] = interests.get(name, 0) + self.config.value


class DecreaseInterest(_Interest):
    """Subtract ``value`` from an interest (a missing one starts at 0)."""

    id = "decrease-interest"
    name = "Decrease interest"

    def apply(self, interests: dict[str, float], name: str) -> None:
        interests[name] = interests.get(name, 0) - self.config.value


class DeleteInterest(_Interest):
    """Remove an interest from the profile (``value`` is not used); a missing one is no error."""

    id = "delete-interest"
    name = "Delete interest"

    def apply(self, interests: dict[str, float], name: str) -> None:
        interests.pop(name, None)


class ConsentConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    consent: str
    """The consent type id (``marketing``), or a reference holding it."""
    granted: bool = True
    """Grant the consent; false: revoke it (remove it from the profile)."""
    revoke_after: str | None = None
    """When a granted consent expires, from now: an interval such as ``365d`` or ``12h 30m`` (none: never). It
    is stored as ``profile.consents[<id>].revoke`` (ISO time), Tracardi's shape."""

    def __post_init__(self) -> None:
        _name_or_ref(self.consent, "consent")
        if self.revoke_after is not None:
            parse_interval(self.revoke_after)


class SetConsent(Action[ConsentConfig]):
    """Grant or revoke a consent on the profile: ``profile.consents[id] = {"revoke": <time or null>}``."""

    id = "set-consent"
    name = "Set consent"
    config_type = ConsentConfig
    outputs: ClassVar[tuple[str, ...]] = OUT_WITH_ERROR

    def __init__(self, config: ConsentConfig) -> None:
        super().__init__(config)
        self._name = _name_or_ref(config.consent, "consent")
        self._ttl: timedelta | None = parse_interval(config.revoke_after) if config.revoke_after else None

    async def run(self, payload: Any, ctx: FlowContext) -> Fired:
        profile = ctx.require_profile()
        name = _resolve(ctx, self._name, "consent")
        if not self.config.granted:
            profile.consents.pop(name, None)
            return Result("payload", payload)
        if name not in profile.consents and len(profile.consents) >= MAX_CONSENTS:
            raise ActionError(f"a profile may have at most {MAX_CONSENTS} consents")
        revoke = (ctx.now + self._ttl).isoformat() if self._ttl is not None else None
        profile.consents[name] = {"revoke": revoke}
        return Result("payload", payload)
