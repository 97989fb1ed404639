"""Math operation: a safe arithmetic expression over references and numbers (``tracardi.domain.arith``)."""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec

from tracardi.domain import arith
from tracardi.engine.workflow.action import Action, ActionError, Fired, FlowContext, parse_ref
from tracardi.engine.workflow.actions._common import OUT_WITH_ERROR, RESULT, put


class MathConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    expression: str
    """E.g. ``(profile@stats.counters.spent + event@properties.total) * 1.2``: numbers, references, ``+ - * / %
    **``, parentheses, ``abs min max round floor ceil``; a reference with other characters goes in backticks."""
    target: str = RESULT
    """Where the result goes (default ``payload@result``)."""
    round: int | None = None
    """Round the result to this many decimals (0: a whole number); none: keep it as computed."""

    def __post_init__(self) -> None:
        arith.parse(self.expression)
        parse_ref(self.target, writable=True)
        if self.round is not None and not 0 <= self.round <= 15:
            raise ValueError("round must be from 0 to 15 decimals")


class MathOperation(Action[MathConfig]):
    """Compute an arithmetic expression (parsed once, no ``eval``) and write the number to ``target``. A missing
    or non-numeric reference (numeric strings count as numbers), a division by zero or an overflow fires
    ``error``."""

    id = "math-operation"
    name = "Math operation"
    config_type = MathConfig
    outputs: ClassVar[tuple[str, ...]] = OUT_WITH_ERROR

    def __init__(self, config: MathConfig) -> None:
        super().__init__(config)
        self._tree = arith.parse(config.expression)
        self._target = parse_ref(config.target, writable=True)

    async def run(self, payload: Any, ctx: FlowContext) -> Fired:
        try:
            result = arith.evaluate(self._tree, ctx.read)
        except arith.ArithError as exc:
            raise ActionError(str(exc)) from exc
        digits = self.config.round
        if digits is not None:
            result = round(result) if digits == 0 else round(result, digits)
        return put(ctx, self._target, result)
