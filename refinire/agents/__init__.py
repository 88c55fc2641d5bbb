"""``refinire.agents``: Refinire's agents package, over our one implementation.

The agent steps (``RefinireAgent``, ``RouterAgent``, ``ClarifyAgent``) live in ``_agents``; the
workflow API is re-exported from ``refinire.agents.flow`` as Refinire users import it.
"""

from ._agents import ClarifyAgent, LLMResult, RefinireAgent, RouterAgent, UnknownOptionError
from .compat import (
    create_evaluated_agent,
    create_evaluated_clarify_agent,
    create_simple_agent,
    create_simple_clarify_agent,
)
from .flow import (
    ConditionStep,
    Context,
    DebugStep,
    Flow,
    FlowExecutionError,
    ForkStep,
    FunctionStep,
    JoinStep,
    Message,
    ParallelStep,
    Step,
    UserInputStep,
    create_conditional_flow,
    create_lambda_step,
    create_simple_condition,
    create_simple_flow,
)
from .router import RouterConfig, create_content_type_router, create_intent_router

__all__ = [
    "ClarifyAgent",
    "UnknownOptionError",
    "ConditionStep",
    "Context",
    "DebugStep",
    "Flow",
    "FlowExecutionError",
    "ForkStep",
    "FunctionStep",
    "JoinStep",
    "LLMResult",
    "Message",
    "ParallelStep",
    "RefinireAgent",
    "RouterAgent",
    "RouterConfig",
    "Step",
    "UnknownOptionError",
    "UserInputStep",
    "create_conditional_flow",
    "create_content_type_router",
    "create_evaluated_agent",
    "create_evaluated_clarify_agent",
    "create_intent_router",
    "create_lambda_step",
    "create_simple_agent",
    "create_simple_clarify_agent",
    "create_simple_condition",
    "create_simple_flow",
]
