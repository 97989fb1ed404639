"""Strings: render a template into a reference, and string operations (case, trim, split, join, replace, ...)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any, ClassVar, Literal

import msgspec

from tracardi.domain.template import render
from tracardi.engine.workflow.action import Action, ActionError, Fired, FlowContext, parse_ref
from tracardi.engine.workflow.actions._common import OUT_WITH_ERROR, RESULT, put, required

MAX_TEMPLATE = 65_536
MAX_STRING = 1_000_000
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


class TemplateConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    template: str
    """The text, with ``{{ profile@data.pii.firstname }}`` placeholders (a missing value renders empty)."""
    target: str = RESULT
    """Where the rendered text goes (default ``payload@result``)."""

    def __post_init__(self) -> None:
        if len(self.template) > MAX_TEMPLATE:
            raise ValueError(f"a template may have at most {MAX_TEMPLATE} characters")
        parse_ref(self.target, writable=True)


class Template(Action[TemplateConfig]):
    """Render a template string into a reference and pass the payload on."""

    id = "template"
    name = "Template"
    config_type = TemplateConfig
    outputs: ClassVar[tuple[str, ...]] = OUT_WITH_ERROR

    def __init__(self, config: TemplateConfig) -> None:
        super().__init__(config)
        self._target = parse_ref(config.target, writable=True)

    async def run(self, payload: Any, ctx: FlowContext) -> Fired:
        return put(ctx, self._target, render(self.config.template, ctx.scope))


StringOp = Literal[
    "upper", "lower", "capitalize", "title", "trim", "split", "join", "replace", "length", "slug", "reverse"
]


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _NOT_SLUG.sub("-", ascii_text.lower()).strip("-")


class StringConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    operation: StringOp
    """upper, lower, capitalize, title, trim, split (into a list), join (a list into a string), replace,
    length, slug (``Hello, World!`` -> ``hello-world``), reverse."""
    source: str
    """The string (a list for ``join``), e.g. ``event@properties.name``."""
    target: str = RESULT
    """Where the result goes (default ``payload@result``)."""
    separator: str = ","
    """split / join: the separator."""
    chars: str = ""
    """trim: the characters to strip from both ends (empty: whitespace)."""
    old: str = ""
    """replace: the text to replace."""
    new: str = ""
    """replace: the replacement."""

    def __post_init__(self) -> None:
        parse_ref(self.source)
        parse_ref(self.target, writable=True)
        if self.operation == "split" and not self.separator:
            raise ValueError("split needs a separator")
        if self.operation == "replace" and not self.old:
            raise ValueError("replace needs the text to replace (old)")


def _string_ops(c: StringConfig) -> dict[str, Callable[[str], Any]]:
    return {
        "upper": str.upper,
        "lower": str.lower,
        "capitalize": str.capitalize,
        "title": str.title,
        "trim": lambda s: s.strip(c.chars or None),
        "split": lambda s: s.split(c.separator),
        "replace": lambda s: s.replace(c.old, c.new),
        "length": len,
        "slug": _slug,
        "reverse": lambda s: s[::-1],
    }


class StringOperation(Action[StringConfig]):
    """Apply a string operation to the value behind ``source`` and write the result to ``target``. A missing
    source, or one of the wrong kind (numbers are turned into strings), fires ``error``."""

    id = "string-operation"
    name = "String operation"
    config_type = StringConfig
    outputs: ClassVar[tuple[str, ...]] = OUT_WITH_ERROR

    def __init__(self, config: StringConfig) -> None:
        super().__init__(config)
        self._source = parse_ref(config.source)
        self._target = parse_ref(config.target, writable=True)
        self._op = _string_ops(config).get(config.operation)
        """None for ``join``, the one operation on a list."""

    async def run(self, payload: Any, ctx: FlowContext) -> Fired:
        value = required(ctx, self._source)
        if self._op is not None:
            return put(ctx, self._target, self._op(_text(value, self._source)))
        if not isinstance(value, list):
            raise ActionError(f"join needs a list at {self._source}")
        return put(ctx, self._target, self.config.separator.join(_text(v, self._source) for v in value))


def _text(value: Any, where: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ActionError(f"{where} is not a string: {str(value)[:100]!r}")
    text = str(value)
    if len(text) > MAX_STRING:
        raise ActionError(f"{where} is longer than {MAX_STRING} characters")
    return text
