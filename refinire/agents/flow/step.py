"""``refinire.agents.flow.step``: Refinire's import path for the step classes and helpers."""

from ..compat import create_lambda_step, create_simple_condition
from ...steps import (
    ConditionStep,
    DebugStep,
    ForkStep,
    FunctionStep,
    JoinStep,
    ParallelStep,
    Step,
    UserInputStep,
)

__all__ = [
    "ConditionStep",
    "DebugStep",
    "ForkStep",
    "FunctionStep",
    "JoinStep",
    "ParallelStep",
    "Step",
    "UserInputStep",
    "create_lambda_step",
    "create_simple_condition",
]
