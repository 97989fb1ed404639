"""Rules and flows: the action contract and registry, validation, the runner and its place in /track."""

from tracardi.engine.workflow.action import (
    Action,
    ActionDeps,
    ActionError,
    Continuation,
    EffectKey,
    Fired,
    FlowContext,
    NoConfig,
    Result,
    parse_ref,
)
from tracardi.engine.workflow.actions import ACTIONS
from tracardi.engine.workflow.compile import CompiledFlow, compile_flow
from tracardi.engine.workflow.dry_run import DryRunInput, DryRunResult, dry_run
from tracardi.engine.workflow.engine import RESUME, FlowsOutcome, ResumeArgs, WorkflowOptions, Workflows
from tracardi.engine.workflow.registry import ActionInfo, ActionRegistry
from tracardi.engine.workflow.resume import FlowResumer
from tracardi.engine.workflow.runner import FlowLimits, RunResult, run_flow
from tracardi.engine.workflow.service import FlowService

__all__ = [
    "ACTIONS",
    "RESUME",
    "Action",
    "ActionDeps",
    "ActionError",
    "ActionInfo",
    "ActionRegistry",
    "CompiledFlow",
    "Continuation",
    "DryRunInput",
    "DryRunResult",
    "EffectKey",
    "Fired",
    "FlowContext",
    "FlowLimits",
    "FlowResumer",
    "FlowService",
    "FlowsOutcome",
    "NoConfig",
    "Result",
    "ResumeArgs",
    "RunResult",
    "WorkflowOptions",
    "Workflows",
    "compile_flow",
    "dry_run",
    "parse_ref",
    "run_flow",
]
