"""Errors of the domain and the engine: meanings, not status codes (the API maps them in one place)."""

from __future__ import annotations

import re
from collections.abc import Sequence

_AT = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_PART = re.compile(r"\.([^.\[]+)|\[(\d+)\]")
_FIELD = re.compile(r"Object (?:missing required|contains unknown) field `(?P<field>[^`]+)`")


def located(message: str) -> tuple[str, list[str | int]]:
    """A msgspec validation message split into its text and the path it names: ``Expected `int`, got `str` - at
    `$.events[3].type``` -> (``Expected `int`, got `str```, ["events", 3, "type"]); a missing or unknown field's name
    ends the path."""
    path: list[str | int] = []
    found = _AT.search(message)
    if found:
        message = message[: found.start()]
        path.extend(int(i) if i else name for name, i in _PART.findall(found.group("path")))
    missing = _FIELD.match(message)
    if missing:
        path.append(missing.group("field"))
    return message, path


class DomainError(Exception):
    """Root of every error the domain and the engine raise on purpose."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class FieldError:
    """One problem with one field of an input: its location (path parts) and a message."""

    __slots__ = ("loc", "msg")

    def __init__(self, loc: Sequence[str | int], msg: str) -> None:
        self.loc = list(loc)
        self.msg = msg


class InvalidInput(DomainError):
    """The input is well-formed JSON but breaks a rule (type, size, depth, required field)."""

    def __init__(self, detail: str, errors: Sequence[FieldError] = ()) -> None:
        super().__init__(detail)
        self.errors = list(errors)


class SourceRejected(DomainError):
    """The event source is unknown, disabled, internal or not allowed on this endpoint."""


class EventRejected(DomainError):
    """An event failed its validation schema (``errors`` name the field)."""

    def __init__(self, detail: str, errors: Sequence[FieldError] = ()) -> None:
        super().__init__(detail)
        self.errors = list(errors)


class NotFoundError(DomainError):
    """The requested entity does not exist."""


class Conflict(DomainError):
    """The entity changed under the caller (a concurrent write won)."""
