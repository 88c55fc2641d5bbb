"""``await agent.run_async(input, ctx)`` outside any flow: a one-step durable flow.

The agent runs exactly as it would inside a flow (activities, retries, the usage ledger, a run in
Temporal's history), and the caller gets the Context back, Refinire style: routed with ``goto`` to
the step's ``next_step`` (or a router's chosen step), else finished.
"""

from __future__ import annotations

import copy
from typing import Any

from refinire.context import Context
from refinire.flow import Flow
from refinire.steps import Step
from workflows.agent_io import STANDALONE_PREFIX

from .runner import run_flow


def standalone_flow(step: Step) -> Flow:
    """A flow holding a copy of ``step`` with no successors, named after the step and its spec."""
    alone = copy.copy(step)
    alone.next_step = None
    alone._branch_targets = lambda: []  # type: ignore[method-assign]  # a router's targets are not here
    flow = Flow(steps=alone)
    kind = type(step).__name__
    flow.name = f"{STANDALONE_PREFIX}{kind}:{step.name}:{flow.durable_name.removeprefix('flow-')}"
    flow._spec = flow._compile()
    return flow


async def run_step_standalone(step: Step, user_input: Any, ctx: Context | None = None) -> Context:
    flow = standalone_flow(step)
    result = await run_flow(flow, user_input, ctx)
    final = ctx if ctx is not None else result.context
    target = final.shared_state.get(f"{step.name}_next_step") if hasattr(step, "routes") else step.next_step
    if target:
        final.goto(target)
    else:
        final.finish()
    return final
