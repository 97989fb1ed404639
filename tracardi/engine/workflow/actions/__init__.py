"""The built-in actions, registered in one place: add a class to ``ACTIONS`` (one module per family)."""

from typing import Any

from tracardi.engine.workflow.action import Action
from tracardi.engine.workflow.actions.condition import If
from tracardi.engine.workflow.actions.data import CopyData, Decrement, DeleteData, Increment, SetData
from tracardi.engine.workflow.actions.flow_control import End, Log, Start
from tracardi.engine.workflow.actions.scheduling import Background, Pause
from tracardi.engine.workflow.actions.segments import AddSegment, RemoveSegment

ACTIONS: tuple[type[Action[Any]], ...] = (
    Start,
    End,
    If,
    SetData,
    CopyData,
    DeleteData,
    Increment,
    Decrement,
    AddSegment,
    RemoveSegment,
    Log,
    Pause,
    Background,
)
"""Every action this version runs; the registry, the validator and ``GET /api/actions`` use this list."""

__all__ = ["ACTIONS"]
