"""``await agent.run_async(input, ctx)`` outside any flow: the agent's own loop, in this process.

Refinire's unit-test style (an agent run on its own, no server) runs the very loop a durable flow
runs (``workflows/agents.py``), with a caller that executes the same activity functions here
instead of scheduling them on Temporal: the same inputs, activity ids (``<step>#1.gen1``, sent to
the model server as ``X-Refinire-Activity``), order of calls, usage ledger and retry policy (the
step's, else the agents' default; a retryable error is tried again after the policy's backoff or
the server's Retry-After, a non-retryable one gives up at once). So the context it leaves is the
one a one-step durable flow leaves: ``result``, ``evaluation_result``, ``routing_result``,
``clarification_result``, ``shared_state["<name>_classification"]``, the assistant message, ``usage``.

Around that loop it behaves as Refinire's agents do when run directly:

* the step records itself (``ctx.update_step_info``) and then goes to its ``next_step`` (a router:
  to the chosen route), else finishes;
* the input is ``user_input``, else ``ctx.last_user_input``; without a ``ctx`` a new one is made
  and a text input becomes its first user message;
* a call that still fails after its retries does not raise: RefinireAgent leaves ``result`` None
  and a system message "RefinireAgent <name> execution error: ...", RouterAgent takes its default
  route and stores ``shared_state["<name>_error"]``, ClarifyAgent adds "ClarifyAgent <name>
  execution error: ..."; each sets ``ctx.error`` (so ``ctx.success`` is false);
* a ``ClarifyAgent(wait_for_answer=True)`` that finds the request unclear cannot wait for a person
  here: it asks (the question is the last assistant message), sets ``ctx.awaiting_prompt`` and
  ``ctx.awaiting_user_input`` and ``clarification_result["awaiting_answer"]``, and stays on the
  step. ``await agent.run_async(answer, ctx)`` then continues the same clarification (turn 2, the
  earlier answers included), as Refinire's ClarifyAgent continues its conversation.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

from temporalio.exceptions import ApplicationError

from activities.llm import IN_PROCESS_CALL, MODEL_CALLS, apply_rules
from refinire.context import Context
from refinire.spec import ClarifySpec, FlowSpec, RouterSpec, StepOptions
from refinire.steps import Step
from workflows.agent_io import STANDALONE_PREFIX
from workflows.agents import Caller, default_category, run_agent_kind
from workflows.runtime import ALWAYS_FATAL, StepFailed, merged_options

__all__ = ["run_step_standalone", "standalone_spec"]


def standalone_spec(step: Step) -> FlowSpec:
    """A one-step spec for ``step`` with no successors, as a flow of just this step would compile."""
    spec = step.spec_for(step.name)
    return FlowSpec(name=f"{STANDALONE_PREFIX}{type(step).__name__}:{step.name}", start=step.name,
                    steps={step.name: spec})


class _InProcess:
    """Runs an activity's function here, with the step's retry policy (``Caller.activity``)."""

    def __init__(self, step: Step) -> None:
        self.step = step

    def _function(self, activity: str) -> Callable[[Any], Awaitable[Any]]:
        if activity == "refinire.route_rules":
            rules = getattr(self.step, "classification_rules", None) or {}
            return lambda inp: apply_rules(rules, inp)
        return MODEL_CALLS[activity]

    async def call(self, activity: str, arg: Any, result_type: type, *, flow: FlowSpec,
                   options: StepOptions, step_key: str, step_name: str, activity_id: str,
                   summary: str, branch: str | None = None, heartbeat: bool = True) -> Any:
        function = self._function(activity)
        opts = merged_options(flow, options)
        retry = opts.retry
        assert retry is not None
        fatal_types = {*ALWAYS_FATAL, *retry.non_retryable_error_types}
        attempt = 1
        while True:
            token = IN_PROCESS_CALL.set((activity_id, attempt))
            try:
                return await asyncio.wait_for(function(arg), opts.start_to_close_s)
            except Exception as exc:
                kind, message, fatal, delay = _classify(exc, fatal_types)
            finally:
                IN_PROCESS_CALL.reset(token)
            if fatal or (retry.max_attempts and attempt >= retry.max_attempts):
                raise StepFailed(step_key, step_name, kind, message, branch)
            if delay is None:
                delay = min(retry.initial_interval_s * retry.backoff ** (attempt - 1), retry.max_interval_s)
            await asyncio.sleep(delay)
            attempt += 1


def _classify(exc: Exception, fatal_types: set[str]) -> tuple[str, str, bool, float | None]:
    """(type, message, give up now?, delay asked for) of a failed attempt, as Temporal would see it."""
    if isinstance(exc, ApplicationError):
        kind = exc.type or "Exception"
        delay = exc.next_retry_delay.total_seconds() if exc.next_retry_delay else None
        return kind, exc.message, exc.non_retryable or kind in fatal_types, delay
    if isinstance(exc, asyncio.TimeoutError):
        return "TimeoutError", "start_to_close timeout", False, None
    kind = type(exc).__name__
    return kind, str(exc), kind in fatal_types, None


class _NoAnswerHere:
    """``Waits`` for a run in this process: nobody can answer now, so the question is kept and the
    step returns with the awaiting fields set (see the module's docstring)."""

    def __init__(self) -> None:
        self.question: str | None = None

    async def ask(self, step: str, name: str, question: str, **_: Any) -> None:
        self.question = question
        return None


def _no_decision(step_key: str, label: str, target: str | None) -> None:
    """Outside a workflow a router's decision is in the context only (``routing_result``)."""


def _pending(step: Step, ctx: Context) -> dict[str, Any] | None:
    """The clarification this step left waiting for an answer in ``ctx``, if any."""
    result = ctx.clarification_result
    if isinstance(result, dict) and result.get("awaiting_answer") and result.get("step") == step.name:
        return result
    return None


async def run_step_standalone(step: Step, user_input: Any, ctx: Context | None = None) -> Context:
    """Run an agent step here, on ``ctx``, and route it as Refinire does (see the module's docstring)."""
    spec = standalone_spec(step)
    kind = spec.steps[step.name]
    if ctx is None:
        ctx = Context()
        if isinstance(user_input, str) and user_input:
            ctx.add_user_message(user_input)
    pending = _pending(step, ctx)
    ctx.update_step_info(step.name)
    answered: list[dict[str, str]] = []
    if pending is not None:
        if user_input is None or user_input == "":
            return ctx  # still waiting for the answer
        answer = str(user_input)
        ctx.add_user_message(answer)
        answered = [*pending.get("answers", []), {"question": pending["question"], "answer": answer}]
        ctx.result = pending["request"]
        ctx.awaiting_prompt, ctx.awaiting_user_input = None, False
    else:
        ctx.result = user_input if user_input is not None else ctx.last_user_input
    waits = _NoAnswerHere()
    caller = Caller(activity=_InProcess(step).call, decide=_no_decision)
    try:
        ctx, _ = await run_agent_kind(spec, kind, ctx, 1, waits, caller=caller,  # type: ignore[arg-type]
                                      answered=answered)
    except StepFailed as failure:
        return _failed(step, kind, ctx, failure)
    if waits.question is not None:
        return _awaiting(step, ctx, waits.question)
    if isinstance(kind, RouterSpec):
        ctx.goto(ctx.shared_state[f"{step.name}_next_step"])
        return ctx
    return _route_on(step, ctx)


def _route_on(step: Step, ctx: Context) -> Context:
    """Refinire's ending of a step run directly: go to ``next_step``, else finish."""
    if step.next_step:
        ctx.goto(step.next_step)
    else:
        ctx.finish()
    return ctx


def _awaiting(step: Step, ctx: Context, question: str) -> Context:
    """A clarification question nobody can answer in this process: ask it and stay on the step."""
    assert ctx.clarification_result is not None
    request = "" if ctx.result is None else str(ctx.result)
    ctx.clarification_result.update(timed_out=False, awaiting_answer=True, step=step.name,
                                    question=question, request=request)
    ctx.awaiting_prompt = question
    ctx.awaiting_user_input = True
    ctx.signal_prompt()
    return ctx


def _failed(step: Step, kind: Any, ctx: Context, failure: StepFailed) -> Context:
    """Refinire's handling of an agent that fails when run directly: record it and go on."""
    message = failure.cause_message
    ctx.set_error(step.name, RuntimeError(message), cause_type=failure.cause_type)
    ctx.error["type"] = failure.cause_type  # type: ignore[index]  # the call's own error type
    if isinstance(kind, RouterSpec):
        category = default_category(kind)
        target = kind.routes[category]
        ctx.shared_state[f"{step.name}_classification"] = category
        ctx.shared_state[f"{step.name}_next_step"] = target
        ctx.shared_state[f"{step.name}_error"] = message
        ctx.routing_result = {"classification": category, "next_step": target, "matched_by": "error",
                              "reply": None}
        ctx.goto(target)
        return ctx
    if isinstance(kind, ClarifySpec):
        ctx.add_system_message(f"ClarifyAgent {step.name} execution error: {message}")
        return ctx
    ctx.result = None
    ctx.add_system_message(f"RefinireAgent {step.name} execution error: {message}")
    return _route_on(step, ctx)
