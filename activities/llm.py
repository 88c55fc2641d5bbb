"""LLM activities: one model call each (generate, evaluate, route, clarify), plus the rule router.

The loops and decisions between calls live in ``workflows/agents.py``; an activity never calls the
model twice, so a crash repeats at most the call that was in flight.
"""

from __future__ import annotations

import asyncio
import re
from contextvars import ContextVar
from typing import Any, Callable, Mapping

from pydantic import BaseModel, Field, ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.llm_client import OpenAIChat
from activities.model_spans import model_call_span, record_usage
from activities.steps import STEP_POOL, heartbeat_while, no_exit
from refinire import registry
from refinire.calls import call_kind, invoke
from workflows.delta import unpack
from workflows.formats import LLM_CLARIFY, LLM_EVALUATE, LLM_GENERATE, LLM_ROUTE
from workflows.agent_io import (
    ChatMessage,
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

CHAT = OpenAIChat()

IN_PROCESS_CALL: ContextVar[tuple[str, int] | None] = ContextVar("refinire_in_process_call", default=None)
"""(activity id, attempt) of a model call made outside any worker, by ``agent.run_async`` on its own
(``client/running/standalone.py``): what a worker would read from ``activity.info()``."""


class Evaluation(BaseModel):
    score: float = Field(description="Quality score from 0 to 100")
    feedback: str = Field(description="Concrete, actionable suggestions to improve the response")


class Clarity(BaseModel):
    score: float = Field(description="How clear and complete the request is, from 0 to 100")
    clarification_question: str = Field(description="One question that would make it clear; empty if clear")
    reason: str = Field(description="Why the request is or is not clear")


def json_schema_format(model: type[BaseModel]) -> dict[str, Any]:
    """``response_format`` for structured output: strict JSON schema of a flat pydantic model."""
    schema = model.model_json_schema()
    schema["additionalProperties"] = False
    schema["required"] = list(schema.get("properties", {}))
    return {"type": "json_schema", "json_schema": {"name": model.__name__, "schema": schema, "strict": True}}


def parse_structured(model: type[BaseModel], text: str, call: LLMCall) -> BaseModel:
    try:
        return model.model_validate_json(text)
    except ValidationError:
        found = re.search(r"\{.*\}", text, re.S)
        if found:
            try:
                return model.model_validate_json(found.group(0))
            except ValidationError:
                pass
    raise ApplicationError(
        f"Step {call.step!r}: model {call.model!r} did not return the {model.__name__} JSON asked for "
        f"({call.kind}); it said {text[:200]!r}. Use a model that supports structured output.",
        type="BadStructuredOutput")


async def chat(call: LLMCall, messages: list[ChatMessage],
               response_format: dict[str, Any] | None = None) -> tuple[str, Usage]:
    """One chat-completions call, heartbeating while it runs so a dead worker is noticed quickly."""
    kwargs: dict[str, Any] = {"model": call.model, "messages": [m.model_dump() for m in messages]}
    if call.temperature is not None:
        kwargs["temperature"] = call.temperature
    if call.max_tokens is not None:
        kwargs["max_tokens"] = call.max_tokens
    if call.timeout_s is not None:
        kwargs["timeout"] = call.timeout_s
    if response_format is not None:
        kwargs["response_format"] = response_format
    in_process = IN_PROCESS_CALL.get()
    if in_process is None:  # an activity on a worker
        info = activity.info()
        activity_id, attempt = info.activity_id, info.attempt
    else:
        activity_id, attempt = in_process
    kwargs["extra_headers"] = {"X-Refinire-Activity": activity_id, "X-Refinire-Step": call.step}
    with model_call_span(call) as span:
        pending = asyncio.ensure_future(CHAT.create(**kwargs))
        # In-process calls heartbeat only when made from inside some activity (a custom step's code).
        completion = await (heartbeat_while(pending) if in_process is None or activity.in_activity() else pending)
        text = (completion.choices[0].message.content or "") if completion.choices else ""
        u = completion.usage
        usage = Usage(model=completion.model or call.model, activity_attempt=attempt,
                      prompt_tokens=getattr(u, "prompt_tokens", 0) or 0,
                      completion_tokens=getattr(u, "completion_tokens", 0) or 0,
                      total_tokens=getattr(u, "total_tokens", 0) or 0)
        record_usage(span, usage)
    return text, usage


def _m(role: str, content: str) -> ChatMessage:
    return ChatMessage(role=role, content=content)  # type: ignore[arg-type]


@activity.defn(name=LLM_GENERATE)
async def generate(inp: GenerateInput) -> GenerateOutput:
    messages = [_m("system", inp.instructions)] if inp.instructions else []
    messages.append(_m("user", inp.input))
    if inp.previous is not None:
        messages.append(_m("assistant", inp.previous))
        messages.append(_m("user", (
            f"An evaluator scored your response {inp.score:g}/100 with this feedback:\n{inp.feedback}\n\n"
            "Write an improved response to the original request. Reply with the response only.")))
    text, usage = await chat(inp.call, messages)
    return GenerateOutput(text=text, usage=usage)


@activity.defn(name=LLM_EVALUATE)
async def evaluate(inp: EvaluateInput) -> EvaluateOutput:
    messages = [
        _m("system", "You evaluate a response to a request. " + inp.instructions + "\nScore it from 0 to "
           "100 and give concrete feedback on how to improve it. Answer in the JSON format requested."),
        _m("user", f"Request:\n{inp.input}\n\nResponse:\n{inp.output}"),
    ]
    text, usage = await chat(inp.call, messages, json_schema_format(Evaluation))
    ev = parse_structured(Evaluation, text, inp.call)
    assert isinstance(ev, Evaluation)
    return EvaluateOutput(score=min(max(ev.score, 0.0), 100.0), feedback=ev.feedback, usage=usage)


@activity.defn(name=LLM_ROUTE)
async def route(inp: RouteInput) -> RouteOutput:
    system = (inp.instructions.strip() + "\n\n" if inp.instructions.strip() else "") + (
        "Classify the input into exactly one of these categories: " + ", ".join(inp.categories)
        + ". Reply with the category name only.")
    text, usage = await chat(inp.call, [_m("system", system), _m("user", inp.input)])
    return RouteOutput(reply=text.strip(), usage=usage)


@activity.defn(name=LLM_CLARIFY)
async def clarify(inp: ClarifyInput) -> ClarifyOutput:
    system = "\n".join(s for s in (
        inp.generation_instructions, inp.clarification_instructions,
        "Judge whether the user's request is clear and complete enough to act on. Score its clarity "
        "from 0 to 100. If it is not clear, ask the single most useful clarification question. "
        "Answer in the JSON format requested.") if s)
    transcript = inp.input
    for ex in inp.exchanges:
        transcript += f"\n\nQuestion: {ex.get('question', '')}\nAnswer: {ex.get('answer', '')}"
    text, usage = await chat(inp.call, [_m("system", system), _m("user", transcript)],
                             json_schema_format(Clarity))
    c = parse_structured(Clarity, text, inp.call)
    assert isinstance(c, Clarity)
    return ClarifyOutput(score=min(max(c.score, 0.0), 100.0),
                         clarification_question=c.clarification_question, reason=c.reason, usage=usage)


@activity.defn(name="refinire.route_rules")
async def route_rules(inp: RuleInput) -> RuleOutput:
    """Runs ``classification_rules`` in order: the first rule returning true names the category."""
    rules = getattr(registry.live_step(inp.flow_name, inp.step_key), "classification_rules", None)
    if rules is None:
        raise ApplicationError(registry.not_in_code(inp.flow_name, inp.step_key, "rule router"),
                               type="StepNotInCode", non_retryable=True)
    return await no_exit(apply_rules(rules, inp), inp.flow_name, inp.step_key)


async def apply_rules(rules: Mapping[str, Callable[..., Any]], inp: RuleInput) -> RuleOutput:
    """The first category whose rule returns true for the input (each rule gets its own copy)."""
    unpack(inp.context, inp.views)
    data = inp.context.result  # the data with its type (``inp.data`` is its plain-JSON copy)
    for category, rule in rules.items():
        ctx = inp.context.model_copy(deep=True)
        if await invoke(rule, call_kind(rule) or "data_ctx", data, ctx, STEP_POOL):
            return RuleOutput(category=str(category))
    return RuleOutput(category=None)


ACTIVITIES = [generate, evaluate, route, clarify, route_rules]
MODEL_CALLS: dict[str, Callable[[Any], Any]] = {
    LLM_GENERATE: generate, LLM_EVALUATE: evaluate, LLM_ROUTE: route, LLM_CLARIFY: clarify,
}
"""The model-call activities by name, for running them outside a worker (``IN_PROCESS_CALL``)."""

__all__ = ["ACTIVITIES", "CHAT", "IN_PROCESS_CALL", "MODEL_CALLS", "Clarity", "Evaluation", "apply_rules",
           "json_schema_format"]
