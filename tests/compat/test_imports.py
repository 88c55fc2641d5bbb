"""Every import path and top-level name Refinire 0.3 offers for flows, steps, contexts, agents and
tracing resolves, and each is our one implementation (the same object under every path)."""

from __future__ import annotations

import importlib

import pytest

import refinire

PATHS = {
    "refinire.agents.flow": ["Flow", "FlowExecutionError", "Step", "FunctionStep", "ConditionStep",
                             "ParallelStep", "UserInputStep", "DebugStep", "ForkStep", "JoinStep",
                             "Context", "Message", "create_simple_flow", "create_conditional_flow",
                             "create_simple_condition", "create_lambda_step"],
    "refinire.agents.flow.flow": ["Flow", "FlowExecutionError", "create_simple_flow", "create_conditional_flow"],
    "refinire.agents.flow.step": ["Step", "FunctionStep", "ConditionStep", "ParallelStep", "UserInputStep",
                                  "DebugStep", "ForkStep", "JoinStep", "create_simple_condition",
                                  "create_lambda_step"],
    "refinire.agents.flow.context": ["Context", "Message"],
    "refinire.agents.router": ["RouterAgent", "RouterConfig", "create_intent_router",
                               "create_content_type_router"],
    "refinire.agents.pipeline": ["RefinireAgent", "LLMResult", "create_simple_agent", "create_evaluated_agent"],
    "refinire.agents.clarify_agent": ["ClarifyAgent", "create_simple_clarify_agent",
                                      "create_evaluated_clarify_agent"],
    "refinire.agents": ["Flow", "Context", "RefinireAgent", "RouterAgent", "RouterConfig", "ClarifyAgent",
                        "create_simple_agent", "create_simple_flow"],
    "refinire.core": ["TraceRegistry", "TraceMetadata", "get_global_registry", "set_global_registry",
                      "enable_console_tracing", "disable_tracing", "RefinireError"],
    "refinire.core.trace_registry": ["TraceRegistry", "TraceMetadata", "get_global_registry",
                                     "set_global_registry"],
    "refinire.core.exceptions": ["RefinireError", "RefinireNetworkError", "RefinireConnectionError",
                                 "RefinireTimeoutError", "RefinireAuthenticationError", "RefinireRateLimitError",
                                 "RefinireAPIError", "RefinireModelError", "RefinireConfigurationError",
                                 "RefinireValidationError"],
}

TOP_LEVEL = [
    "Flow", "FlowExecutionError", "Step", "FunctionStep", "ConditionStep", "ParallelStep", "UserInputStep",
    "DebugStep", "ForkStep", "JoinStep", "Context", "Message", "create_simple_flow", "create_conditional_flow",
    "create_simple_condition", "create_lambda_step", "RefinireAgent", "LLMResult", "create_simple_agent",
    "create_evaluated_agent", "ClarifyAgent", "RouterAgent", "RouterConfig", "create_simple_clarify_agent",
    "create_evaluated_clarify_agent", "enable_console_tracing", "disable_tracing", "TraceRegistry",
    "TraceMetadata", "get_global_registry", "set_global_registry", "RefinireError", "RefinireNetworkError",
    "RefinireConnectionError", "RefinireTimeoutError", "RefinireAuthenticationError", "RefinireRateLimitError",
    "RefinireAPIError", "RefinireModelError", "RefinireConfigurationError", "RefinireValidationError",
]


@pytest.mark.parametrize("path", sorted(PATHS))
def test_each_refinire_path_reexports_our_one_implementation(path):
    module = importlib.import_module(path)
    for name in PATHS[path]:
        found = getattr(module, name)
        home = refinire if hasattr(refinire, name) else importlib.import_module("refinire.agents.router")
        assert found is getattr(home, name), (path, name)


def test_every_top_level_name_refinire_exports_for_flows_agents_and_tracing():
    missing = [n for n in TOP_LEVEL if not hasattr(refinire, n)]
    assert missing == []
    assert set(TOP_LEVEL) <= set(refinire.__all__)


def test_refinire_agents_is_a_package_with_the_flow_subpackage():
    import refinire.agents as agents
    import refinire.agents.flow as flow_pkg

    assert hasattr(agents, "__path__") and hasattr(flow_pkg, "__path__")
    from refinire.agents.flow import Flow
    from refinire.agents.flow.step import FunctionStep

    assert Flow is refinire.flow.Flow and FunctionStep is refinire.steps.FunctionStep
