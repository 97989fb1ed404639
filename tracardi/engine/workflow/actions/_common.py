"""What several action families share: where a computed value goes, reading a required value, JSON templates."""

from __future__ import annotations

import copy
import re
from typing import Any

from tracardi.domain import refs
from tracardi.domain.dotpath import MISSING
from tracardi.domain.template import render
from tracardi.engine.workflow.action import ActionError, FlowContext, Result

OUT_WITH_ERROR: tuple[str, ...] = ("payload", "error")
_ONE = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")
RESULT = "payload@result"
"""The default target of a computed value: the ``result`` key of the payload passed on."""


def put(ctx: FlowContext, target: refs.Ref, value: Any) -> Result:
    """Write a computed value to its target and pass the payload on (as the target may have changed it)."""
    ctx.write(target, value)
    return Result("payload", ctx.scope["payload"])


def required(ctx: FlowContext, ref: refs.Ref) -> Any:
    """The value behind ``ref``; ActionError when there is none."""
    value = ctx.read(ref)
    if value is MISSING or value is None:
        raise ActionError(f"{ref} does not exist")
    return value


def fill(value: Any, scope: dict[str, Any]) -> Any:
    """A JSON template filled in: each string leaf is rendered (``"Hi {{ profile@data.pii.firstname }}"``); a
    leaf that is one placeholder alone (``"{{ event@properties.items }}"``) takes the value itself, of any type."""
    if isinstance(value, str):
        whole = _ONE.fullmatch(value)
        if whole is None:
            return render(value, scope)
        try:
            found = refs.read(scope, refs.parse_ref(whole.group(1)))
        except ValueError:
            return None
        return None if found is MISSING else copy.deepcopy(found)
    if isinstance(value, dict):
        return {k: fill(v, scope) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, scope) for v in value]
    return value
