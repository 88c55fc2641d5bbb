"""Refinire Flow, durable on Temporal.

Write flows with the Refinire Flow API; every run is a Temporal workflow that survives crashes,
can be replayed and re-run, and is visible in the Temporal UI.
"""

from .agents import ClarifyAgent, RefinireAgent, RouterAgent
from .context import Context, Message
from .errors import FlowDefinitionError, FlowExecutionError, NonRetryableError
from .flow import Flow
from .observability import TraceRegistry, enable_console_tracing, get_global_registry
from .spec import FlowSpec, HistoryBudget, RetrySpec
from .steps import ConditionStep, DebugStep, FunctionStep, ParallelStep, Step, UserInputStep

__all__ = [
    "ClarifyAgent",
    "ConditionStep",
    "Context",
    "DebugStep",
    "Flow",
    "FlowDefinitionError",
    "FlowExecutionError",
    "FlowSpec",
    "FunctionStep",
    "HistoryBudget",
    "Message",
    "NonRetryableError",
    "ParallelStep",
    "RefinireAgent",
    "RetrySpec",
    "RouterAgent",
    "Step",
    "UserInputStep",
    "TraceRegistry",
    "enable_console_tracing",
    "get_global_registry",
]
