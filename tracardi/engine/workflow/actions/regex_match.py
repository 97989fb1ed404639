"""Regex match: test a string against a pattern and put the groups on the payload.

Catastrophic backtracking (``(a|aa)+$`` on a long input) would stall the event loop, so patterns run on the
``regex`` module (a drop-in ``re`` with a ``timeout`` that its matcher checks while it backtracks): a match that
runs longer than ``timeout`` seconds is abandoned and the node fires ``error``. The pattern is capped at 1000
characters and the input at ``max_input`` characters, which bounds the work a match may do before the timeout.
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec
import regex

from tracardi.engine.workflow.action import Action, ActionError, Fired, FlowContext, Result, parse_ref
from tracardi.engine.workflow.actions._common import required

MAX_PATTERN = 1000
MAX_INPUT = 100_000
MAX_MATCHES = 100


class RegexConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pattern: str
    """A Python regular expression (up to 1000 characters); named groups ``(?P<name>...)`` become keys."""
    source: str
    """The text to search, e.g. ``event@properties.url``."""
    ignore_case: bool = False
    """Match letters regardless of case."""
    find_all: bool = False
    """Return every match (up to 100) instead of the first."""
    timeout: float = 0.1
    """Seconds a search may take (0.001 to 1); a longer one fires ``error``."""
    max_input: int = 10_000
    """Longest text searched (up to 100000 characters); a longer one fires ``error``."""

    def __post_init__(self) -> None:
        parse_ref(self.source)
        if not self.pattern or len(self.pattern) > MAX_PATTERN:
            raise ValueError(f"a pattern has 1 to {MAX_PATTERN} characters")
        try:
            regex.compile(self.pattern)
        except regex.error as exc:
            raise ValueError(f"invalid pattern: {exc}") from exc
        if not 0.001 <= self.timeout <= 1:
            raise ValueError("timeout must be from 0.001 to 1 second")
        if not 1 <= self.max_input <= MAX_INPUT:
            raise ValueError(f"max_input must be from 1 to {MAX_INPUT}")


def _describe(found: regex.Match[str]) -> dict[str, Any]:
    return {"match": found.group(0), "groups": list(found.groups()), "named": found.groupdict()}


class RegexMatch(Action[RegexConfig]):
    """Search the text behind ``source`` with ``pattern``: ``matched`` fires ``{"match", "groups", "named"}`` (with
    ``find_all``: ``{"matches": [...]}``), ``not-matched`` fires the input payload. A missing or non-string source,
    a too long input, or a search over ``timeout`` fires ``error``."""

    id = "regex-match"
    name = "Regex match"
    config_type = RegexConfig
    outputs: ClassVar[tuple[str, ...]] = ("matched", "not-matched", "error")

    def __init__(self, config: RegexConfig) -> None:
        super().__init__(config)
        self._source = parse_ref(config.source)
        self._pattern = regex.compile(config.pattern, regex.IGNORECASE if config.ignore_case else 0)

    async def run(self, payload: Any, ctx: FlowContext) -> Fired:
        text = required(ctx, self._source)
        if not isinstance(text, str):
            raise ActionError(f"{self._source} is not a string")
        if len(text) > self.config.max_input:
            raise ActionError(f"{self._source} is longer than max_input ({self.config.max_input} characters)")
        try:
            found = self._search(text)
        except TimeoutError as exc:
            raise ActionError(f"the pattern took longer than {self.config.timeout:g} s on {self._source}") from exc
        if found is None:
            return Result("not-matched", payload)
        return Result("matched", found)

    def _search(self, text: str) -> dict[str, Any] | None:
        timeout = self.config.timeout
        if not self.config.find_all:
            first = self._pattern.search(text, timeout=timeout)
            return _describe(first) if first is not None else None
        matches = []
        for found in self._pattern.finditer(text, timeout=timeout):
            matches.append(_describe(found))
            if len(matches) >= MAX_MATCHES:
                break
        return {"matches": matches} if matches else None
