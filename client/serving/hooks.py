"""Refinire's step hooks (``flow.add_hook``) for durable runs: called by the worker around a step.

A hook observes a step where the step really executes, in the worker's activity, so it fires once
per attempt and never when a workflow replays its history. Only the activities that run one
function step or custom step (``STEP_ACTIVITIES``, parallel branches included) call hooks:
conditions run inside the workflow, and agents are several model calls, not one step attempt.

The step's flow, key and context are read from the activity's input by name (``flow_name``,
``step_key``, ``branch``, ``context``); an input without them calls no hook.
"""

from __future__ import annotations

from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from refinire import registry
from workflows.formats import STEP_ACTIVITIES
from workflows.io import StepInput


def _target(arg: Any) -> tuple[Any, str, Any] | None:
    """(flow, step name, context) for a step activity's input, when its flow has hooks."""
    flow = registry.get(getattr(arg, "flow_name", "") or "")
    if flow is None or not (flow.before_step_hooks or flow.after_step_hooks or flow.error_hooks):
        return None
    key, branch = getattr(arg, "step_key", None), getattr(arg, "branch", None)
    step = flow.step_object(key, branch) if key else None
    name = step.name if step is not None else (branch or key or "?")
    return flow, name, getattr(arg, "context", None)


class _HookedActivity(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        if activity.info().activity_type not in STEP_ACTIVITIES or not input.args:
            return await self.next.execute_activity(input)
        if isinstance(input.args[0], StepInput):
            from activities.steps import step_input

            await step_input(input.args[0])  # format 3 leaves the flow and step out: put them back
        target = _target(input.args[0])
        if target is None:
            return await self.next.execute_activity(input)
        flow, name, ctx = target
        flow.run_hooks("before_step", name, ctx)
        try:
            out = await self.next.execute_activity(input)
        except Exception as exc:
            # The step's own exception, not the ApplicationError that carries it to Temporal.
            own = exc.__cause__ if isinstance(exc, ApplicationError) and exc.__cause__ else exc
            flow.run_hooks("error", name, ctx, own)
            raise
        # Format-2 steps return only their changes; the step changed the input's context in place.
        after = getattr(out, "context", None) or ctx
        flow.run_hooks("after_step", name, after, after)
        return out


class StepHooks(Interceptor):
    """On every worker; does nothing for flows without hooks."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _HookedActivity(next)
