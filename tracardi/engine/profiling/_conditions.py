"""TQL conditions of profiling configuration: checked on save, compiled once per config load, run per event."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tracardi.domain.errors import FieldError, InvalidInput
from tracardi.domain.tql import TqlSyntaxError, parse, predicate

Condition = Callable[[Mapping[str, Any]], bool]
MAX_CONDITION = 4096


def check_condition(text: str, loc: tuple[str | int, ...]) -> None:
    """Raise InvalidInput naming ``loc`` (with the position and token) unless ``text`` parses."""
    if len(text) > MAX_CONDITION:
        raise InvalidInput(f"Condition longer than {MAX_CONDITION} characters.", [FieldError(loc, "too long")])
    try:
        parse(text)
    except TqlSyntaxError as exc:
        msg = str(exc)  # names the position and the token
        raise InvalidInput(f"Invalid condition: {msg}", [FieldError(loc, msg)]) from exc


def compiled(text: str, default: str) -> Condition | None:
    """The condition of a saved (checked) document as a function of the scope; None for an empty one.

    Paths without an entity (``traits.tier``) read from ``default``.
    """
    return predicate(parse(text), default) if text.strip() else None


def holds(condition: Condition | None, scope: Mapping[str, Any]) -> bool:
    """Whether the condition is true in ``scope``; no condition always holds."""
    return True if condition is None else condition(scope)
