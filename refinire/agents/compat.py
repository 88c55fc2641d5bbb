"""Refinire's helper constructors for flows, steps and agents, over our one set of classes.

Each builds the same objects a user would build by hand (``Flow``, ``FunctionStep``,
``RefinireAgent``, ...), so everything they make runs durably like the rest.
"""

from __future__ import annotations

import sys
from typing import Any, Callable

from ..context import Context
from ..errors import FlowDefinitionError
from ..flow import Flow
from ..spec import END
from ..steps import FunctionStep, Step
from ._agents import ClarifyAgent, RefinireAgent

__all__ = [
    "create_conditional_flow",
    "create_evaluated_agent",
    "create_evaluated_clarify_agent",
    "create_lambda_step",
    "create_simple_agent",
    "create_simple_clarify_agent",
    "create_simple_condition",
    "create_simple_flow",
]


def _owned_by_caller(flow: Flow, depth: int = 2) -> Flow:
    """A flow built here is named after the caller's module, as if the caller had built it."""
    flow._module = sys._getframe(depth).f_globals.get("__name__")
    flow._spec = flow._compile()
    return flow


def create_simple_flow(steps: list[tuple[str, Step]], context: Context | None = None,
                       name: str | None = None) -> Flow:
    """A linear flow from ``[(key, step), ...]``: each step without a ``next_step`` goes to the next.

    Raises:
        FlowDefinitionError: "At least one step is required" for an empty list.
    """
    if not steps:
        raise FlowDefinitionError("At least one step is required: pass [(key, step), ...] to create_simple_flow.")
    for (_, step), (following, _) in zip(steps, steps[1:]):
        if getattr(step, "next_step", "") is None and not step._branch_targets():
            step.next_step = following
    return _owned_by_caller(Flow(start=steps[0][0], steps=dict(steps), context=context, name=name))


def create_conditional_flow(initial_step: Step, condition_step: Step, true_branch: list[Step],
                            false_branch: list[Step], context: Context | None = None,
                            name: str | None = None) -> Flow:
    """``start`` → ``condition`` → ``true_0, true_1, ...`` or ``false_0, false_1, ...``.

    Each branch's steps run in order and the flow ends after a branch's last step (Refinire ended
    after a branch's first step unless the steps were chained by hand).
    """
    steps: dict[str, Step] = {"start": initial_step, "condition": condition_step}
    for label, branch in (("true", true_branch), ("false", false_branch)):
        keys = [f"{label}_{i}" for i in range(len(branch))]
        for key, step, following in zip(keys, branch, [*keys[1:], END]):
            if step.next_step is None and not step._branch_targets():
                step.next_step = following
            steps[key] = step
        if keys and hasattr(condition_step, f"if_{label}"):
            setattr(condition_step, f"if_{label}", keys[0])
    initial_step.next_step = "condition"
    return _owned_by_caller(Flow(start="start", steps=steps, context=context, name=name))


def create_simple_condition(field_path: str, expected_value: Any) -> Callable[[Context], bool]:
    """A condition: the value at a dotted path (``"shared_state.status"``) equals ``expected_value``.

    A missing attribute or key is ``False``. Pure, so it may run inside the workflow.
    """

    def condition(ctx: Context) -> bool:
        value: Any = ctx
        for part in field_path.split("."):
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif not isinstance(value, dict) and hasattr(value, part):
                value = getattr(value, part)
            else:
                return False
        return value == expected_value

    condition.__qualname__ = f"create_simple_condition.{field_path}=={expected_value!r}"
    return condition


def create_lambda_step(name: str, func: Callable[[Context], Any], next_step: str | None = None) -> FunctionStep:
    """A step that calls ``func(ctx)`` for its effect on the context; its input passes through."""

    def step(ctx: Context) -> Context:
        func(ctx)
        return ctx

    step.__qualname__ = f"create_lambda_step.{name}"
    step.__module__ = getattr(func, "__module__", __name__)
    return FunctionStep(name, step, next_step)


def create_simple_agent(name: str, instructions: str, model: str = "gpt-4o-mini", **kwargs: Any) -> RefinireAgent:
    """A ``RefinireAgent`` that generates with ``instructions``."""
    return RefinireAgent(name, instructions, model=model, **kwargs)


def create_evaluated_agent(name: str, generation_instructions: str, evaluation_instructions: str,
                           model: str = "gpt-4o-mini", evaluation_model: str | None = None,
                           threshold: float = 85.0, **kwargs: Any) -> RefinireAgent:
    """A ``RefinireAgent`` that scores each generation and regenerates below ``threshold``.

    ``evaluation_model`` is accepted for compatibility; generation and evaluation use ``model``.
    """
    return RefinireAgent(name, generation_instructions, evaluation_instructions, model=model,
                         threshold=threshold, **kwargs)


def create_simple_clarify_agent(name: str, instructions: str, output_data: Any = None, max_turns: int = 20,
                                model: str | None = None, next_step: str | None = None,
                                **kwargs: Any) -> ClarifyAgent:
    """A ``ClarifyAgent`` that judges requests with ``instructions``."""
    return ClarifyAgent(name, instructions, instructions, model=model or "gpt-4o-mini",
                        next_step=next_step, **kwargs)


def create_evaluated_clarify_agent(name: str, generation_instructions: str, evaluation_instructions: str,
                                   output_data: Any = None, max_turns: int = 20, model: str | None = None,
                                   evaluation_model: str | None = None, next_step: str | None = None,
                                   threshold: int = 85, retries: int = 3, **kwargs: Any) -> ClarifyAgent:
    """A ``ClarifyAgent`` whose clarity judgement follows ``evaluation_instructions``."""
    return ClarifyAgent(name, generation_instructions, evaluation_instructions, threshold=threshold,
                        model=model or "gpt-4o-mini", next_step=next_step, **kwargs)
