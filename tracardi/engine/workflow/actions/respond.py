"""Answers to the client: UX widgets appended to ``ux`` and keys of ``response``, both returned by /track."""

from __future__ import annotations

import copy
import re
from typing import Any, ClassVar

import msgspec

from tracardi.domain.template import render
from tracardi.engine.workflow.action import Action, ActionError, Fired, FlowContext, Result, parse_ref
from tracardi.engine.workflow.actions._common import OUT_WITH_ERROR, fill, required

MAX_UX = 50
MAX_CONTENT = 65_536
_KEY = re.compile(r"[a-z0-9_-]{1,100}")
_TAG = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,50}")


class UxConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    tag: str = "div"
    """The widget's element, e.g. ``div``, ``script``, ``tracardi-popup``."""
    props: dict[str, Any] = {}
    """Its attributes; string values are templates (``{{ profile@data.pii.firstname }}``)."""
    content: str = ""
    """Its content, a template."""

    def __post_init__(self) -> None:
        if not _TAG.fullmatch(self.tag):
            raise ValueError("a tag is a letter, then up to 50 letters, digits or dashes")
        if len(self.content) > MAX_CONTENT:
            raise ValueError(f"content may have at most {MAX_CONTENT} characters")


class AddUx(Action[UxConfig]):
    """Append a UX widget ``{tag, props, content}`` to the ``ux`` list /track returns (at most 50 per flow run,
    more fire ``error``); passes the payload on."""

    id = "add-ux"
    name = "Add UX"
    config_type = UxConfig
    outputs: ClassVar[tuple[str, ...]] = OUT_WITH_ERROR

    async def run(self, payload: Any, ctx: FlowContext) -> Fired:
        if len(ctx.ux) >= MAX_UX:
            raise ActionError(f"a flow run may add at most {MAX_UX} UX widgets")
        c = self.config
        ctx.ux.append({"tag": c.tag, "props": fill(c.props, ctx.scope), "content": render(c.content, ctx.scope)})
        return Result("payload", payload)


class ResponseConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    key: str
    """The response key (lower-cased, spaces become ``_``, as in Tracardi)."""
    body: Any = None
    """A JSON value; string leaves are templates, a leaf that is one placeholder takes the value itself."""
    source: str | None = None
    """Instead of ``body``: a reference whose value is the answer (e.g. ``payload@result``)."""

    def __post_init__(self) -> None:
        if not _KEY.fullmatch(self.normalized_key()):
            raise ValueError("a key has 1 to 100 of a-z 0-9 _ - (after lower-casing, spaces as _)")
        if (self.body is None) == (self.source is None):
            raise ValueError("give exactly one of body (a template) or source (a reference)")
        if self.source is not None:
            parse_ref(self.source)

    def normalized_key(self) -> str:
        return self.key.strip().lower().replace(" ", "_")


class SetResponse(Action[ResponseConfig]):
    """Set ``response[key]`` of the /track answer (a later flow of the same call wins a conflicting key); passes
    the payload on. A missing ``source`` fires ``error``."""

    id = "set-response"
    name = "Set response"
    config_type = ResponseConfig
    outputs: ClassVar[tuple[str, ...]] = OUT_WITH_ERROR

    def __init__(self, config: ResponseConfig) -> None:
        super().__init__(config)
        self._key = config.normalized_key()
        self._source = parse_ref(config.source) if config.source is not None else None

    async def run(self, payload: Any, ctx: FlowContext) -> Fired:
        if self._source is None:
            ctx.response[self._key] = fill(self.config.body, ctx.scope)
        else:
            ctx.response[self._key] = copy.deepcopy(required(ctx, self._source))
        return Result("payload", payload)
