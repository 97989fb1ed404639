"""Data: set, copy and delete values behind references; increase and decrease counters."""

from __future__ import annotations

import copy
from typing import Any, ClassVar

import msgspec

from tracardi.domain.dotpath import MISSING
from tracardi.engine.workflow.action import Action, ActionError, Fired, FlowContext, Result, parse_ref

_OUT_WITH_ERROR: tuple[str, ...] = ("payload", "error")
MAX_TARGETS = 100


def _check_targets(targets: dict[str, Any]) -> None:
    if len(targets) > MAX_TARGETS:
        raise ValueError(f"at most {MAX_TARGETS} references")
    for target in targets:
        parse_ref(target, writable=True)


class SetDataConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    set: dict[str, Any]
    """Reference -> literal value, e.g. ``{"profile@traits.tier": "gold"}``."""

    def __post_init__(self) -> None:
        _check_targets(self.set)


class SetData(Action[SetDataConfig]):
    """Set literal values: each key of ``set`` is a reference (``profile@traits.tier``) and gets its value.
    A target that cannot hold the value (a field of the wrong kind) fires ``error``."""

    id = "set-data"
    name = "Set data"
    config_type = SetDataConfig
    outputs: ClassVar[tuple[str, ...]] = _OUT_WITH_ERROR

    def __init__(self, config: SetDataConfig) -> None:
        super().__init__(config)
        self._targets = [(parse_ref(k, writable=True), v) for k, v in config.set.items()]

    async def run(self, payload: Any, ctx: FlowContext) -> Fired:
        for ref, value in self._targets:
            ctx.write(ref, copy.deepcopy(value) if isinstance(value, dict | list) else value)
        return Result("payload", payload)


class CopyDataConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    copy: dict[str, str]
    """Target reference -> source reference, e.g. ``{"profile@data.contact.email.main": "event@properties.email"}``."""
    skip_missing: bool = True
    """A missing source leaves its target alone; false: a missing source fires ``error``."""

    def __post_init__(self) -> None:
        _check_targets(self.copy)
        for source in self.copy.values():
            parse_ref(source)


class CopyData(Action[CopyDataConfig]):
    """Copy values between references (event to profile, payload to memory, ...)."""

    id = "copy-data"
    name = "Copy data"
    config_type = CopyDataConfig
    outputs: ClassVar[tuple[str, ...]] = _OUT_WITH_ERROR

    def __init__(self, config: CopyDataConfig) -> None:
        super().__init__(config)
        self._pairs = [(parse_ref(t, writable=True), parse_ref(s)) for t, s in config.copy.items()]

    async def run(self, payload: Any, ctx: FlowContext) -> Fired:
        for target, source in self._pairs:
            value = ctx.read(source)
            if value is MISSING:
                if self.config.skip_missing:
                    continue
                raise ActionError(f"{source} does not exist")
            ctx.write(target, copy.deepcopy(value))
        return Result("payload", payload)


class DeleteDataConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    delete: list[str]
    """References to remove (a typed profile field is reset to empty)."""

    def __post_init__(self) -> None:
        _check_targets(dict.fromkeys(self.delete))


class DeleteData(Action[DeleteDataConfig]):
    """Delete the values behind references; a missing value is no error."""

    id = "delete-data"
    name = "Delete data"
    config_type = DeleteDataConfig
    outputs: ClassVar[tuple[str, ...]] = _OUT_WITH_ERROR

    def __init__(self, config: DeleteDataConfig) -> None:
        super().__init__(config)
        self._refs = [parse_ref(r, writable=True) for r in config.delete]

    async def run(self, payload: Any, ctx: FlowContext) -> Fired:
        for ref in self._refs:
            ctx.delete(ref)
        return Result("payload", payload)


class IncrementConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    field: str
    """The counter, e.g. ``profile@stats.counters.purchases``; a missing one starts at 0."""
    increment: float = 1
    """How much to add."""

    def __post_init__(self) -> None:
        parse_ref(self.field, writable=True)


class DecrementConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    field: str
    """The counter; a missing one starts at 0."""
    decrement: float = 1
    """How much to subtract."""

    def __post_init__(self) -> None:
        parse_ref(self.field, writable=True)


def _add(ctx: FlowContext, field: str, amount: float) -> None:
    ref = parse_ref(field, writable=True)
    current = ctx.read(ref, None)
    if current is None:
        current = 0
    if isinstance(current, bool) or not isinstance(current, int | float):
        raise ActionError(f"{ref} is not a number: {str(current)[:100]!r}")
    total = current + amount
    ctx.write(ref, int(total) if isinstance(current, int) and float(amount).is_integer() else total)


class Increment(Action[IncrementConfig]):
    """Add to a numeric field (integers stay integers); a field that holds something else fires ``error``."""

    id = "increment"
    name = "Increase counter"
    config_type = IncrementConfig
    outputs: ClassVar[tuple[str, ...]] = _OUT_WITH_ERROR

    async def run(self, payload: Any, ctx: FlowContext) -> Fired:
        _add(ctx, self.config.field, self.config.increment)
        return Result("payload", payload)


class Decrement(Action[DecrementConfig]):
    """Subtract from a numeric field; a field that holds something else fires ``error``."""

    id = "decrement"
    name = "Decrease counter"
    config_type = DecrementConfig
    outputs: ClassVar[tuple[str, ...]] = _OUT_WITH_ERROR

    async def run(self, payload: Any, ctx: FlowContext) -> Fired:
        _add(ctx, self.config.field, -self.config.decrement)
        return Result("payload", payload)
