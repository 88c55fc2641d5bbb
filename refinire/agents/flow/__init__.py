"""``refinire.agents.flow``: Refinire's import path for flows, steps and the context."""

from .context import Context, Message
from .flow import Flow, FlowExecutionError, create_conditional_flow, create_simple_flow
from .step import (
    ConditionStep,
    DebugStep,
    ForkStep,
    FunctionStep,
    JoinStep,
    ParallelStep,
    Step,
    UserInputStep,
    create_lambda_step,
    create_simple_condition,
)

__all__ = [
    "ConditionStep",
    "Context",
    "DebugStep",
    "Flow",
    "FlowExecutionError",
    "ForkStep",
    "FunctionStep",
    "JoinStep",
    "Message",
    "ParallelStep",
    "Step",
    "UserInputStep",
    "create_conditional_flow",
    "create_lambda_step",
    "create_simple_condition",
    "create_simple_flow",
]
