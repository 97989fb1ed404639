"""The built-in actions, registered in one place: add a class to ``ACTIONS`` (one module per family)."""

from typing import Any

from tracardi.engine.workflow.action import Action
from tracardi.engine.workflow.actions.condition import If
from tracardi.engine.workflow.actions.data import CopyData, Decrement, DeleteData, Increment, SetData
from tracardi.engine.workflow.actions.dates import DateOperation
from tracardi.engine.workflow.actions.events import InjectEvent
from tracardi.engine.workflow.actions.flow_control import End, Log, Start
from tracardi.engine.workflow.actions.identity import MergeProfiles, SegmentProfile
from tracardi.engine.workflow.actions.lists import AppendToList, KeyCounter, RemoveFromList
from tracardi.engine.workflow.actions.math_ops import MathOperation
from tracardi.engine.workflow.actions.profile import (
    AddInterest,
    DecreaseInterest,
    DeleteInterest,
    IncreaseInterest,
    IncreaseViews,
    IncreaseVisits,
    SetConsent,
)
from tracardi.engine.workflow.actions.regex_match import RegexMatch
from tracardi.engine.workflow.actions.respond import AddUx, SetResponse
from tracardi.engine.workflow.actions.scheduling import Background, Pause
from tracardi.engine.workflow.actions.segments import AddSegment, MoveSegment, RemoveSegment
from tracardi.engine.workflow.actions.text import StringOperation, Template
from tracardi.engine.workflow.actions.webhook import Webhook

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
    IncreaseViews,
    IncreaseVisits,
    MoveSegment,
    AddInterest,
    IncreaseInterest,
    DecreaseInterest,
    DeleteInterest,
    SetConsent,
    AppendToList,
    RemoveFromList,
    KeyCounter,
    Template,
    StringOperation,
    MathOperation,
    DateOperation,
    RegexMatch,
    AddUx,
    SetResponse,
    InjectEvent,
    Webhook,
    MergeProfiles,
    SegmentProfile,
)
"""Every action this version runs; the registry, the validator and ``GET /api/actions`` use this list."""

__all__ = ["ACTIONS"]
