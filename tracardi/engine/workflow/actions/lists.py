"""Lists and counts behind references: append to or remove from a list, count key occurrences into a dict."""

from __future__ import annotations

import copy
from typing import Any, ClassVar

import msgspec

from tracardi.domain import refs
from tracardi.domain.dotpath import MISSING
from tracardi.engine.workflow.action import Action, ActionError, Fired, FlowContext, Result, parse_ref
from tracardi.engine.workflow.actions._common import OUT_WITH_ERROR, required

MAX_LIST = 10_000
MAX_KEYS = 1_000
MAX_KEY = 200


class ListConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    list: str
    """The list, e.g. ``profile@traits.viewed``; a missing one starts empty, a scalar becomes a one-item list."""
    value: Any = None
    """A literal item, or a list of items (each appended or removed)."""
    source: str | None = None
    """Instead of ``value``: a reference to the item(s), e.g. ``event@properties.sku``."""
    unique: bool = True
    """Append: skip items the list already holds (the list is not deduplicated beyond that)."""
    max_length: int = 1000
    """Append: keep at most this many items, dropping the oldest (1 to 10000)."""

    def __post_init__(self) -> None:
        parse_ref(self.list, writable=True)
        if (self.value is None) == (self.source is None):
            raise ValueError("give exactly one of value (a literal) or source (a reference)")
        if self.source is not None:
            parse_ref(self.source)
        if not 1 <= self.max_length <= MAX_LIST:
            raise ValueError(f"max_length must be from 1 to {MAX_LIST}")


class _ListAction(Action[ListConfig]):
    config_type = ListConfig
    outputs: ClassVar[tuple[str, ...]] = OUT_WITH_ERROR

    def __init__(self, config: ListConfig) -> None:
        super().__init__(config)
        self._list = parse_ref(config.list, writable=True)
        self._source = parse_ref(config.source) if config.source is not None else None

    def items(self, ctx: FlowContext) -> list[Any]:
        value = self.config.value if self._source is None else required(ctx, self._source)
        return copy.deepcopy(value) if isinstance(value, list) else [copy.deepcopy(value)]

    def current(self, ctx: FlowContext) -> list[Any]:
        value = ctx.read(self._list, None)
        if value is None:
            return []
        return list(value) if isinstance(value, list) else [value]


class AppendToList(_ListAction):
    """Append item(s) to a list behind a reference (unique by default, capped at ``max_length``, oldest dropped).
    A missing ``source`` fires ``error``; a list put in a typed field that cannot hold one (``data.pii.firstname``)
    makes the flow's changes undone when the run ends, as any invalid profile does."""

    id = "append-to-list"
    name = "Append to list"

    async def run(self, payload: Any, ctx: FlowContext) -> Fired:
        items = self.current(ctx)
        for item in self.items(ctx):
            if not (self.config.unique and item in items):
                items.append(item)
        ctx.write(self._list, items[-self.config.max_length :])
        return Result("payload", payload)


class RemoveFromList(_ListAction):
    """Remove every occurrence of the item(s) from a list behind a reference; a missing list stays missing."""

    id = "remove-from-list"
    name = "Remove from list"

    async def run(self, payload: Any, ctx: FlowContext) -> Fired:
        if ctx.read(self._list) is MISSING:
            return Result("payload", payload)
        gone = self.items(ctx)
        ctx.write(self._list, [item for item in self.current(ctx) if item not in gone])
        return Result("payload", payload)


class KeyCounterConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    key: str
    """A reference to the key(s) to count: a string, or a list of strings (``event@properties.categories``)."""
    counter: str
    """The dict of counts, e.g. ``profile@traits.categories``; a missing one starts empty."""

    def __post_init__(self) -> None:
        parse_ref(self.key)
        parse_ref(self.counter, writable=True)


class KeyCounter(Action[KeyCounterConfig]):
    """Count occurrences of keys: each key read from ``key`` adds one to ``counter[key]`` (up to 1000 distinct
    keys of at most 200 characters). A missing or non-string key, or a counter that is not a dict, fires
    ``error``."""

    id = "key-counter"
    name = "Key counter"
    config_type = KeyCounterConfig
    outputs: ClassVar[tuple[str, ...]] = OUT_WITH_ERROR

    def __init__(self, config: KeyCounterConfig) -> None:
        super().__init__(config)
        self._key = parse_ref(config.key)
        self._counter = parse_ref(config.counter, writable=True)

    async def run(self, payload: Any, ctx: FlowContext) -> Fired:
        keys = _keys(required(ctx, self._key), self._key)
        counts = ctx.read(self._counter, None)
        if counts is None:
            counts = {}
        if not isinstance(counts, dict):
            raise ActionError(f"{self._counter} is not a dict of counts")
        counts = dict(counts)
        for key in keys:
            if key not in counts and len(counts) >= MAX_KEYS:
                raise ActionError(f"{self._counter} already counts {MAX_KEYS} keys")
            current = counts.get(key, 0)
            if isinstance(current, bool) or not isinstance(current, int | float):
                raise ActionError(f"{self._counter}.{key} is not a number")
            counts[key] = current + 1
        ctx.write(self._counter, counts)
        return Result("payload", payload)


def _keys(value: Any, ref: refs.Ref) -> list[str]:
    keys = value if isinstance(value, list) else [value]
    for key in keys:
        if not isinstance(key, str) or not key or len(key) > MAX_KEY:
            raise ActionError(f"{ref} must hold strings of 1 to {MAX_KEY} characters, not {str(key)[:100]!r}")
    return keys
