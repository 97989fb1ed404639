"""The action registry: action id -> class, used by the validator, the runner and ``GET /api/actions``."""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator
from typing import Any

import msgspec

from tracardi.engine.workflow.action import Action


class ActionInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What the admin API lists for one action."""

    id: str
    name: str
    doc: str
    inputs: list[str]
    outputs: list[str]
    start: bool
    config_schema: dict[str, Any]


class ActionRegistry:
    """The actions a flow may use, by id (an explicit list, no import-time registration)."""

    def __init__(self, actions: Iterable[type[Action[Any]]]) -> None:
        self._actions: dict[str, type[Action[Any]]] = {}
        for cls in actions:
            if cls.id in self._actions:
                raise ValueError(f"two actions have the id {cls.id!r}")
            if not inspect.getdoc(cls):
                raise ValueError(f"action {cls.id!r} has no docstring")
            self._actions[cls.id] = cls

    def get(self, action_id: str) -> type[Action[Any]] | None:
        return self._actions.get(action_id)

    def __iter__(self) -> Iterator[type[Action[Any]]]:
        return iter(self._actions.values())

    def __len__(self) -> int:
        return len(self._actions)

    def build(self, cls: type[Action[Any]], config: dict[str, Any]) -> Action[Any]:
        """An action instance for this config; raises msgspec.ValidationError naming the config field."""
        return cls(msgspec.convert(config, cls.config_type, strict=True))

    def describe(self) -> list[ActionInfo]:
        """Every action with its documentation, ports and config JSON schema."""
        return [
            ActionInfo(
                id=cls.id,
                name=cls.name,
                doc=inspect.getdoc(cls) or "",
                inputs=list(cls.inputs),
                outputs=list(cls.outputs),
                start=cls.start,
                config_schema=msgspec.json.schema(cls.config_type),
            )
            for cls in self
        ]
