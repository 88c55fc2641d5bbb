"""Refinire Flow, durable on Temporal.

Write flows with the Refinire Flow API; every run is a Temporal workflow that survives crashes,
can be replayed and re-run, and is visible in the Temporal UI. The names Refinire 0.3 exports for
flows, steps, contexts, agents and tracing are all here, each our one implementation.
"""

# .agents first: it loads the agent classes that .agents.compat builds on.
from .agents import ClarifyAgent, LLMResult, RefinireAgent, RouterAgent
from .agents.router import RouterConfig
from .agents.compat import (  # noqa: I001 (after .agents)
    create_conditional_flow,
    create_evaluated_agent,
    create_evaluated_clarify_agent,
    create_lambda_step,
    create_simple_agent,
    create_simple_clarify_agent,
    create_simple_condition,
    create_simple_flow,
)
from .context import Context, Message
from .errors import (
    FlowCancelled,
    FlowDefinitionError,
    FlowExecutionError,
    NonRetryableError,
    RefinireAPIError,
    RefinireAuthenticationError,
    RefinireConfigurationError,
    RefinireConnectionError,
    RefinireError,
    RefinireModelError,
    RefinireNetworkError,
    RefinireRateLimitError,
    RefinireTimeoutError,
    RefinireValidationError,
    StepError,
)
from .flow import Flow
from .observability import (
    TraceMetadata,
    TraceRegistry,
    disable_tracing,
    enable_console_tracing,
    get_global_registry,
    set_global_registry,
)
from .spec import FlowSpec, HistoryBudget, RetrySpec
from .steps import (
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
    "ClarifyAgent",
    "ConditionStep",
    "Context",
    "DebugStep",
    "Flow",
    "FlowCancelled",
    "FlowDefinitionError",
    "FlowExecutionError",
    "FlowSpec",
    "ForkStep",
    "FunctionStep",
    "HistoryBudget",
    "JoinStep",
    "LLMResult",
    "Message",
    "NonRetryableError",
    "ParallelStep",
    "RefinireAPIError",
    "RefinireAgent",
    "RefinireAuthenticationError",
    "RefinireConfigurationError",
    "RefinireConnectionError",
    "RefinireError",
    "RefinireModelError",
    "RefinireNetworkError",
    "RefinireRateLimitError",
    "RefinireTimeoutError",
    "RefinireValidationError",
    "RetrySpec",
    "RouterAgent",
    "RouterConfig",
    "Step",
    "StepError",
    "TraceMetadata",
    "TraceRegistry",
    "UserInputStep",
    "create_conditional_flow",
    "create_evaluated_agent",
    "create_evaluated_clarify_agent",
    "create_lambda_step",
    "create_simple_agent",
    "create_simple_clarify_agent",
    "create_simple_condition",
    "create_simple_flow",
    "disable_tracing",
    "enable_console_tracing",
    "get_global_registry",
    "set_global_registry",
]
