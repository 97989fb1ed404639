"""Conditions: branch on a TQL condition."""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec

from tracardi.domain.tql import TqlSyntaxError, parse, predicate
from tracardi.engine.workflow.action import Action, Fired, FlowContext, Result

MAX_CONDITION = 10_000


def check_condition(text: str) -> None:
    """ValueError (a 422 naming the field on save) unless ``text`` parses as TQL."""
    if len(text) > MAX_CONDITION:
        raise ValueError(f"a condition may have at most {MAX_CONDITION} characters")
    try:
        parse(text)
    except TqlSyntaxError as exc:
        raise ValueError(str(exc)) from exc


class IfConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    condition: str
    """TQL over ``profile@``, ``event@``, ``session@``, ``payload@``, ``flow@`` and ``memory@``; a path without
    ``@`` is a profile path."""
    pass_payload: bool = True
    """Fire the input payload; false: fire ``{"result": true|false}``."""

    def __post_init__(self) -> None:
        check_condition(self.condition)


class If(Action[IfConfig]):
    """Fire ``true`` or ``false`` as the condition holds for this event, profile, session and payload."""

    id = "if"
    name = "If"
    config_type = IfConfig
    outputs: ClassVar[tuple[str, ...]] = ("true", "false")

    def __init__(self, config: IfConfig) -> None:
        super().__init__(config)
        self._holds = predicate(parse(config.condition))

    async def run(self, payload: Any, ctx: FlowContext) -> Fired:
        result = self._holds(ctx.scope)
        return Result("true" if result else "false", payload if self.config.pass_payload else {"result": result})
