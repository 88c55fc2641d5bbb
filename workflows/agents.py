"""Agent steps on the workflow side (RefinireAgent, RouterAgent, ClarifyAgent, UserInputStep).

Every model call is its own activity; the loops and decisions between calls live here, in the
history. A crash in the middle of generate → evaluate → regenerate therefore repeats at most the
call that was in flight, never a finished generation.

The same loops serve ``agent.run_async`` outside any flow: they make their calls, record their
decisions and call hooks through a ``Caller``; ``IN_WORKFLOW`` is this workflow's, and
``client/running/standalone.py`` passes one that runs the activity functions in-process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Sequence

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from refinire.agents import hooks
    from refinire.context import Context, Message
    from refinire.errors import rebuild_exception
    from refinire.spec import (
        AgentSpec,
        ClarifySpec,
        FlowSpec,
        RetrySpec,
        RouterSpec,
        StepOptions,
        UserInputSpec,
    )

    from .agent_io import (
        STANDALONE_PREFIX,
        ClarifyInput,
        ClarifyOutput,
        EvaluateInput,
        EvaluateOutput,
        GenerateInput,
        GenerateOutput,
        LLMCall,
        RouteInput,
        RouteOutput,
        RuleInput,
        RuleOutput,
        Usage,
    )
    from .delta import pack
    from .formats import (
        LLM_CLARIFY,
        LLM_EVALUATE,
        LLM_GENERATE,
        LLM_ROUTE,
        agent_call_id,
        agent_call_summary,
        branch_label,
        step_activity_id,
    )
    from .runtime import StepFailed, call_activity, record_decision
    from .waits import Answer, AnswerAccepted, PendingQuestion, Waits

__all__ = ["IN_WORKFLOW", "Answer", "AnswerAccepted", "Caller", "PendingQuestion", "Waits", "default_category",
           "match_category", "run_agent_kind"]

LLM_RETRY = RetrySpec(max_attempts=5, initial_interval_s=1.0, backoff=2.0, max_interval_s=30.0)
"""Agent steps' retry policy unless the step or the flow sets one: rate limits and 5xx pass."""
MAX_CLARIFY_TURNS = 3


@dataclass(frozen=True)
class Caller:
    """How an agent step makes its model calls and records its decisions.

    The loops below are written once. Inside a workflow (``IN_WORKFLOW``) each call is a Temporal
    activity and a router's decision a memo update. ``agent.run_async`` outside any flow passes a
    caller that runs the same activity functions in-process, with the same inputs, ids and retry
    policy (``client/running/standalone.py``), so both paths make the same model calls in the same order.
    """

    activity: Callable[..., Awaitable[Any]]
    """``call_activity``'s signature: (name, arg, result_type, *, flow, options, step_key,
    step_name, activity_id, summary, branch) -> result; a final failure raises ``StepFailed``."""
    decide: Callable[[str, str, str | None], None]
    """Records a branch decision: (step key, label, target)."""
    observe: Callable[[FlowSpec, str, str, Context, StepFailed | None], None] = lambda *_: None
    """Calls the flow's hooks around the step: (spec, hook type, step name, context, failure)."""


def _hooks_in_workflow(spec: FlowSpec, hook: str, name: str, ctx: Context,
                       failure: StepFailed | None = None) -> None:
    """The flow's ``flow.add_hook`` hooks for an agent step, by the worker running the workflow,
    never on replay; they get a copy of the context and cannot change the run (``hooks``)."""
    if workflow.unsafe.is_replaying() or not hooks.has_hooks(spec.name, hook):
        return
    error = None
    if failure is not None:
        f = failure
        error = lambda: rebuild_exception(f.facts, f.cause_type, f.cause_message)  # noqa: E731
    with workflow.unsafe.sandbox_unrestricted():
        hooks.observe(spec.name, hook, name, ctx, error)


IN_WORKFLOW = Caller(activity=call_activity, decide=record_decision, observe=_hooks_in_workflow)


class _Calls:
    """Ids, summaries, options and the usage ledger for one visit of one agent step."""

    def __init__(self, spec: FlowSpec, step: Any, visit: int, parent: str | None,
                 caller: Caller = IN_WORKFLOW) -> None:
        self.spec, self.step, self.parent, self.caller = spec, step, parent, caller
        self.base = step_activity_id(parent, visit, step.name) if parent else step_activity_id(step.key, visit)
        self.label = branch_label(parent, step.name) if parent else step.name
        self.options: StepOptions = step.options
        if step.options.retry is None and spec.defaults.retry is None:
            self.options = step.options.model_copy(update={"retry": LLM_RETRY})

    def llm(self, kind: str, attempt: int = 1) -> LLMCall:
        s = self.step
        return LLMCall(flow_name=self.spec.name, step=self.label, kind=kind, attempt=attempt,  # type: ignore[arg-type]
                       model=s.model, temperature=s.temperature,
                       max_tokens=getattr(s, "max_tokens", None), timeout_s=s.timeout_s)

    async def run(self, activity: str, arg: Any, result_type: type, suffix: str, what: str) -> Any:
        return await self.caller.activity(
            activity, arg, result_type, flow=self.spec, options=self.options,
            step_key=self.parent or self.step.key, step_name=self.step.name,
            activity_id=agent_call_id(self.base, suffix), summary=agent_call_summary(self.label, what),
            branch=self.step.name if self.parent else None)

    def record(self, ctx: Context, kind: str, attempt: int, usage: Usage) -> None:
        ctx.usage.append({"step": self.label, "key": self.step.key, "kind": kind, "attempt": attempt,
                          **usage.model_dump()})


async def run_agent_kind(spec: FlowSpec, step: Any, ctx: Context, visit: int, waits: Waits,
                         parent: str | None = None, caller: Caller = IN_WORKFLOW,
                         answered: Sequence[dict[str, str]] = ()) -> tuple[Context, str | None]:
    """Run one visit of an agent step on ``ctx``; returns the context and the next step's key.

    ``answered`` resumes a clarification whose earlier questions were answered outside this call
    (``ClarifyAgent.run_async`` in-process); a workflow never passes it.
    """
    calls = _Calls(spec, step, visit, parent, caller)
    if isinstance(step, (AgentSpec, RouterSpec, ClarifySpec)):
        caller.observe(spec, "before_step", step.name, ctx, None)
        try:
            if isinstance(step, AgentSpec):
                done = await _refinire(calls, step, ctx), step.next
            elif isinstance(step, RouterSpec):
                done = await _router(calls, step, ctx)
            else:
                done = await _clarify(calls, step, ctx, waits, answered), step.next
        except StepFailed as failure:
            caller.observe(spec, "error", step.name, ctx, failure)
            raise
        caller.observe(spec, "after_step", step.name, done[0], None)
        return done
    if isinstance(step, UserInputSpec):
        return await _user_input(step, ctx, waits), step.next
    raise ApplicationError(
        f"Flow {spec.name!r}: step {step.key!r} is a {step.kind} step, which this build cannot run.",
        type="UnsupportedStep", non_retryable=True)


async def _refinire(calls: _Calls, step: AgentSpec, ctx: Context) -> Context:
    """Generate; with evaluation, regenerate with the evaluator's feedback until the score passes."""
    text_in = "" if ctx.result is None else str(ctx.result)
    tries = 1 + max(step.max_retries, 0) if step.evaluation_instructions else 1
    best: tuple[str, EvaluateOutput, int] | None = None
    last: tuple[str, EvaluateOutput] | None = None
    history: list[dict[str, Any]] = []
    text = ""
    for i in range(1, tries + 1):
        gen = await calls.run(LLM_GENERATE, GenerateInput(
            call=calls.llm("generate", i), instructions=step.generation_instructions, input=text_in,
            previous=last[0] if last else None, feedback=last[1].feedback if last else None,
            score=last[1].score if last else None), GenerateOutput, f"gen{i}", f"generate · try {i}")
        calls.record(ctx, "generate", i, gen.usage)
        text = gen.text
        if not step.evaluation_instructions:
            break
        ev = await calls.run(LLM_EVALUATE, EvaluateInput(
            call=calls.llm("evaluate", i), instructions=step.evaluation_instructions, input=text_in,
            output=text), EvaluateOutput, f"eval{i}", f"evaluate · try {i}")
        calls.record(ctx, "evaluate", i, ev.usage)
        history.append({"attempt": i, "score": ev.score, "feedback": ev.feedback})
        if best is None or ev.score > best[1].score:
            best = (text, ev, i)
        if ev.score >= step.threshold:
            break
        last = (text, ev)
    if best is not None:
        text, ev, i = best
        ctx.evaluation_result = {
            "score": ev.score, "passed": ev.score >= step.threshold, "feedback": ev.feedback,
            "threshold": step.threshold, "attempt": i, "attempts": len(history), "history": history,
        }
    ctx.result = text
    ctx.messages.append(Message(role="assistant", content=text, metadata={"step": calls.label}))
    return ctx


def match_category(reply: str, categories: list[str]) -> tuple[str | None, str]:
    """The category a model's reply names: exactly, then ignoring case, then as a substring."""
    r = reply.strip().strip("\"'`*.").strip()
    if r in categories:
        return r, "exact"
    low = r.lower()
    for c in categories:
        if c.lower() == low:
            return c, "case-insensitive"
    found = [(low.find(c.lower()), -len(c), c) for c in categories if c and c.lower() in low]
    if found:
        return min(found)[2], "substring"
    return None, "none"


def default_category(step: RouterSpec) -> str:
    """The category a router takes when it cannot tell: ``default_route`` (a category, or the step
    of one), else the first category."""
    d = step.default_route
    if d in step.routes:
        return d  # type: ignore[return-value]
    for category, target in step.routes.items():
        if d is not None and target == d:
            return category
    return next(iter(step.routes))


async def _router(calls: _Calls, step: RouterSpec, ctx: Context) -> tuple[Context, str | None]:
    spec, categories = calls.spec, list(step.routes)
    raw: str | None
    if step.classifier_type == "rule":
        wire, views = pack(ctx)
        out = await calls.run("refinire.route_rules", RuleInput(
            flow_name=spec.name, step_key=step.key, context=wire, views=views),
            RuleOutput, "rules", "classify · rules")
        raw = out.category
        category, how = (raw, "rule") if raw in step.routes else (None, "none")
    else:
        r = await calls.run(LLM_ROUTE, RouteInput(
            call=calls.llm("route"), instructions=step.generation_instructions,
            input="" if ctx.result is None else str(ctx.result), categories=categories),
            RouteOutput, "route", "classify")
        calls.record(ctx, "route", 1, r.usage)
        raw = r.reply
        category, how = match_category(raw, categories)
    if category is None:
        category, how = default_category(step), "default"
    target = step.routes[category]
    ctx.shared_state[f"{step.name}_classification"] = category
    ctx.shared_state[f"{step.name}_next_step"] = target
    ctx.routing_result = {"classification": category, "next_step": target, "matched_by": how,
                          "reply": raw}
    calls.caller.decide(step.key, category, target)
    if target not in spec.steps:
        if spec.name.startswith(STANDALONE_PREFIX):
            return ctx, None
        raise ApplicationError(
            f"Flow {spec.name!r}: router {step.key!r} chose {category!r} → step {target!r}, which is not "
            f"in the flow. Known steps: {list(spec.steps)!r}", {"step": step.name},
            type="UnknownStep", non_retryable=True)
    return ctx, target


async def _clarify(calls: _Calls, step: ClarifySpec, ctx: Context, waits: Waits,
                   answered: Sequence[dict[str, str]] = ()) -> Context:
    """Judge clarity; with ``wait_for_answer`` ask and wait (up to MAX_CLARIFY_TURNS questions)."""
    text_in = "" if ctx.result is None else str(ctx.result)
    exchanges: list[dict[str, str]] = list(answered)
    timed_out = False
    turn = len(exchanges) + 1
    while True:
        out = await calls.run(LLM_CLARIFY, ClarifyInput(
            call=calls.llm("clarify", turn), generation_instructions=step.generation_instructions,
            clarification_instructions=step.clarification_instructions, input=text_in,
            exchanges=exchanges), ClarifyOutput, f"clarify{turn}", f"clarify · turn {turn}")
        calls.record(ctx, "clarify", turn, out.usage)
        is_clear = out.score >= step.threshold
        if is_clear or not step.wait_for_answer or turn > MAX_CLARIFY_TURNS:
            break
        question = out.clarification_question or f"Please describe your request to {step.name} in more detail."
        ctx.messages.append(Message(role="assistant", content=question, metadata={"step": calls.label}))
        answer = await waits.ask(step.key, step.name, question, kind="clarify", turn=turn,
                                 timeout_s=step.answer_timeout_s)
        if answer is None:
            timed_out = True
            break
        ctx.add_user_message(answer)
        exchanges.append({"question": question, "answer": answer})
        turn += 1
    clarified = text_in + "".join(f"\n\nQuestion: {e['question']}\nAnswer: {e['answer']}" for e in exchanges)
    ctx.clarification_result = {
        "is_clear": is_clear, "clarification_question": "" if is_clear else out.clarification_question,
        "score": out.score, "threshold": step.threshold, "reason": out.reason, "turns": turn,
        "answers": exchanges, "clarified_request": clarified, "timed_out": timed_out,
    }
    return ctx


async def _user_input(step: UserInputSpec, ctx: Context, waits: Waits) -> Context:
    """Wait for a person's input; it becomes the step's output. No answer in time fails the step."""
    question = step.prompt or f"Input for step {step.name!r}"
    answer = await waits.ask(step.key, step.name, question, kind="user_input",
                             timeout_s=step.answer_timeout_s)
    if answer is None:
        raise StepFailed(step.key, step.name, "AnswerTimeout",
                         f"Nobody answered {question!r} within {step.answer_timeout_s:g} s.")
    ctx.add_user_message(answer)
    ctx.result = answer
    return ctx
