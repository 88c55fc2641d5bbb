"""The replay corpus's user code: one module-level flow per recorded case (tests/histories/).

Every history in tests/histories/<version>/ was recorded by running one of these flows, and the
replay test (tests/test_replay_corpus.py) replays it against them with the current workflow code.
A history pins the spec the run started with, but conditions and error handlers still run from
THIS code during replay: changing what a flow here does would make its history fail to replay for
a reason that has nothing to do with the workflow.

So: never edit, rename or remove a flow, step, condition or handler in this module. A new case is
a new flow (with a new ``name=``); a changed case is a new flow next to the old one.

``CASES`` maps each case name (the history's file name) to its flow. How each case is driven
(input, scripted model replies, answers) lives in tests/histories/record.py.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from refinire import (
    ClarifyAgent,
    ConditionStep,
    Flow,
    FunctionStep,
    RefinireAgent,
    RetrySpec,
    RouterAgent,
    Step,
    UserInputStep,
)

FAST = RetrySpec(max_attempts=3, initial_interval_s=0.05, max_interval_s=0.2)

TEST_PAYLOAD_KEY = "Y29ycHVzLXRlc3Qta2V5LW5vdC1hLXNlY3JldC0wMDE="
"""base64 of 32 bytes; seals the ``sealed`` case. A test key, not a secret."""


# function: sync, async and ctx-only step functions --------------------------------------
def upper(data, ctx):
    ctx.shared_state["seen"] = data
    return str(data).upper()


async def exclaim(data, ctx):
    await asyncio.sleep(0)
    return f"{data}!"


def count_chars(ctx):
    ctx.shared_state["length"] = len(ctx.result)
    return None  # keeps the result


corpus_function = Flow(
    steps=[FunctionStep("upper", upper), FunctionStep("exclaim", exclaim),
           FunctionStep("count", count_chars)],
    name="corpus_function",
)


# condition: boolean ----------------------------------------------------------------------
def set_age(data, ctx):
    ctx.shared_state["age"] = int(data)
    return f"Set age to {data}"


def is_adult(ctx):
    return ctx.shared_state["age"] >= 18


corpus_condition = Flow(
    {
        "set_age": FunctionStep("set_age", set_age),
        "age_check": ConditionStep("age_check", is_adult, "adult", "minor"),
        "adult": FunctionStep("adult", lambda data, ctx: "You can access adult services"),
        "minor": FunctionStep("minor", lambda data, ctx: "Please use services for minors"),
    },
    name="corpus_condition",
)


# condition: multi-way routes, one named route taken and then the default ------------------
def kind_of(ctx):
    return ctx.shared_state["kind"]


def tag(data, ctx):
    ctx.shared_state["kind"] = str(data).split(":")[0]
    return data


def retag(data, ctx):
    ctx.shared_state["kind"] = "unheard-of"
    return f"{data} via {ctx.shared_state['route_taken']}"


def take(label):
    def step(data, ctx):
        ctx.shared_state["route_taken"] = label
        return f"{label}({data})"

    step.__qualname__ = f"take.{label}"
    return step


corpus_routes = Flow(
    {
        "tag": FunctionStep("tag", tag),
        "first_route": ConditionStep("first_route", kind_of,
                                     {"bug": "bug", "feature": "feature", "default": "other"}),
        "bug": FunctionStep("bug", take("bug"), next_step="retag"),
        "feature": FunctionStep("feature", take("feature"), next_step="retag"),
        "other": FunctionStep("other", take("other"), next_step="retag"),
        "retag": FunctionStep("retag", retag),
        "second_route": ConditionStep("second_route", kind_of,
                                      {"bug": "bug_again", "default": "fallthrough"}),
        "bug_again": FunctionStep("bug_again", take("bug_again"), next_step=Flow.END),
        "fallthrough": FunctionStep("fallthrough", take("fallthrough"), next_step=Flow.END),
    },
    name="corpus_routes",
)


# parallel: three branches, two at a time, writing shared_state ----------------------------
def branch(label):
    def step(data, ctx):
        ctx.shared_state[f"{label}_saw"] = data
        return f"{label}:{data}"

    step.__qualname__ = f"branch.{label}"
    return step


def join(data, ctx):
    return " | ".join(f"{k}={v}" for k, v in sorted(data.items()))


corpus_parallel = Flow(
    {
        "prep": FunctionStep("prep", lambda data, ctx: f"<{data}>"),
        "fan": {"parallel": [FunctionStep("alpha", branch("alpha")), FunctionStep("beta", branch("beta")),
                             FunctionStep("gamma", branch("gamma"))],
                "max_workers": 2, "next_step": "join"},
        "join": FunctionStep("join", join),
    },
    name="corpus_parallel",
)


# retries: fails twice, then succeeds -----------------------------------------------------
FLAKY_CALLS: Counter = Counter()
"""Calls per run (trace id) in this process: the recorder's worker runs in the recording process."""


def flaky(data, ctx):
    FLAKY_CALLS[ctx.trace_id] += 1
    if FLAKY_CALLS[ctx.trace_id] <= 2:
        raise ConnectionError(f"flaky call {FLAKY_CALLS[ctx.trace_id]} failed")
    return f"{data} after {FLAKY_CALLS[ctx.trace_id]} calls"


corpus_retries = Flow(
    steps=[FunctionStep("before", lambda data, ctx: f"[{data}]"),
           FunctionStep("flaky", flaky, retry=RetrySpec(max_attempts=5, initial_interval_s=0.05,
                                                        max_interval_s=0.2)),
           FunctionStep("after", lambda data, ctx: f"{data} done")],
    name="corpus_retries",
)


# error handler: a step fails for good and the handler routes to a fallback ----------------
def call_api(data, ctx):
    raise ConnectionError("External API Error: Connection timeout")


def on_error(error, ctx):
    ctx.shared_state["error_type"] = type(error).__name__
    ctx.shared_state["error_message"] = str(error)
    return "fallback"


corpus_error_handler = Flow(
    {
        "call": FunctionStep("call", call_api, retry=RetrySpec(max_attempts=2, initial_interval_s=0.05)),
        "done": FunctionStep("done", lambda data, ctx: f"ok {data}", next_step=Flow.END),
        "fallback": FunctionStep("fallback", lambda data, ctx: f"fallback got {data}"),
    },
    name="corpus_error_handler",
)
corpus_error_handler.set_error_handler(on_error)


# loop: work -> condition -> work ... ------------------------------------------------------
def work(data, ctx):
    ctx.shared_state["rounds"] = ctx.shared_state.get("rounds", 0) + 1
    return data + 1


def more_work(ctx):
    return ctx.result < 3


corpus_loop = Flow(
    {
        "work": FunctionStep("work", work),
        "again": ConditionStep("again", more_work, "work", "done"),
        "done": FunctionStep("done", lambda data, ctx: f"counted to {data}"),
    },
    name="corpus_loop",
)


# agents ---------------------------------------------------------------------------------
corpus_agent_eval = Flow(
    {
        "poet": RefinireAgent("poet", "Write a haiku", "Score the haiku", model="m-test", threshold=80,
                              max_retries=2),
        "sign": FunctionStep("sign", lambda data, ctx: f"{data} -- {ctx.evaluation_result['score']}"),
    },
    retry=FAST,
    name="corpus_agent_eval",
)


def routed(name, config):
    return Flow({
        "route": RouterAgent(config),
        "tech": FunctionStep("tech", lambda data, ctx: f"tech:{data}"),
        "biz": FunctionStep("biz", lambda data, ctx: f"biz:{data}"),
        "general": FunctionStep("general", lambda data, ctx: f"general:{data}"),
    }, retry=FAST, name=name)


corpus_router_llm = routed("corpus_router_llm", {
    "name": "router", "routes": {"technical": "tech", "business": "biz", "general": "general"},
    "classifier_type": "llm", "generation_instructions": "Classify it", "default_route": "general",
    "model": "m-test"})


def is_even(data, ctx):
    return int(data) % 2 == 0


def is_odd(data, ctx):
    return int(data) % 2 == 1


corpus_router_rule = routed("corpus_router_rule", {
    "name": "rules", "classifier_type": "rule",
    "routes": {"even": "tech", "odd": "biz", "other": "general"},
    "classification_rules": {"even": is_even, "odd": is_odd}})


def is_clear(ctx):
    return ctx.clarification_result["is_clear"]


def clarify_flow(name, agent):
    return Flow({
        "clarify": agent,
        "check": ConditionStep("check", is_clear, "go", "ask"),
        "go": FunctionStep("go", lambda data, ctx: f"go:{data}"),
        "ask": FunctionStep("ask", lambda data, ctx: f"ask:{ctx.clarification_result['clarification_question']}"),
    }, retry=FAST, name=name)


corpus_clarify_answered = clarify_flow(
    "corpus_clarify_answered",
    ClarifyAgent("clar", "Ask", "Clear?", model="m-test", wait_for_answer=True))

corpus_clarify_timeout = clarify_flow(
    "corpus_clarify_timeout",
    ClarifyAgent("clar", "Ask", "Clear?", model="m-test", wait_for_answer=True, answer_timeout=1))


corpus_user_input = Flow(
    {
        "name": UserInputStep("name", "What is your name?"),
        "greet": FunctionStep("greet", lambda data, ctx: f"Hello {data}"),
    },
    name="corpus_user_input",
)


# local activities ------------------------------------------------------------------------
def is_short(ctx):
    return len(ctx.result) < 10


corpus_local = Flow(
    {
        "trim": FunctionStep("trim", lambda data, ctx: str(data).strip(), local=True),
        "size": ConditionStep("size", is_short, "short", "long"),
        "short": FunctionStep("short", lambda data, ctx: f"short:{data}", local=True),
        "long": FunctionStep("long", lambda data, ctx: f"long:{data}"),  # a regular activity
    },
    name="corpus_local",
)


# a custom Step subclass routing with ctx.goto / ctx.finish ------------------------------
class Dispatch(Step):
    async def run_async(self, user_input, ctx):
        ctx.result = f"dispatched {user_input}"
        ctx.goto("handle")
        return ctx


class Stopper(Step):
    async def run_async(self, user_input, ctx):
        ctx.result = f"stopped at {user_input}"
        ctx.finish()
        return ctx


corpus_custom = Flow(
    {
        "dispatch": Dispatch("dispatch"),
        "skipped": FunctionStep("skipped", lambda data, ctx: "never runs"),
        "handle": FunctionStep("handle", lambda data, ctx: f"handled {data}"),
        "stop": Stopper("stop"),
        "unreached": FunctionStep("unreached", lambda data, ctx: "never runs either"),
    },
    name="corpus_custom",
)


# a failed run: a step fails for good, no handler -------------------------------------------
def broken(data, ctx):
    raise ValueError(f"bad input {data!r}")


corpus_failed = Flow(
    steps=[FunctionStep("ok", lambda data, ctx: data),
           FunctionStep("broken", broken, retry=RetrySpec(max_attempts=2, initial_interval_s=0.05))],
    name="corpus_failed",
)


# started by name: the client sends no spec; the worker's is pinned by describe_flow -------
def is_long(ctx):
    return len(str(ctx.result)) > 5


corpus_by_name = Flow(
    {
        "prep": FunctionStep("prep", lambda data, ctx: f"<{data}>"),
        "check": ConditionStep("check", is_long, "long", "short"),
        "long": FunctionStep("long", lambda data, ctx: f"long {data}"),
        "short": FunctionStep("short", lambda data, ctx: f"short {data}"),
    },
    name="corpus_by_name",
)


# sealed payloads (REFINIRE_PAYLOAD_KEY = TEST_PAYLOAD_KEY) --------------------------------
def secret_note(data, ctx):
    ctx.shared_state["note"] = f"secret {data}"
    return f"sealed {data}"


def has_note(ctx):
    return "note" in ctx.shared_state


corpus_sealed = Flow(
    {
        "note": FunctionStep("note", secret_note),
        "check": ConditionStep("check", has_note, "yes", "no"),
        "yes": FunctionStep("yes", lambda data, ctx: f"{data} (noted)"),
        "no": FunctionStep("no", lambda data, ctx: f"{data} (no note)"),
    },
    name="corpus_sealed",
)


CASES: dict[str, Flow] = {
    "function": corpus_function,
    "condition": corpus_condition,
    "routes": corpus_routes,
    "parallel": corpus_parallel,
    "retries": corpus_retries,
    "error_handler": corpus_error_handler,
    "loop": corpus_loop,
    "agent_eval": corpus_agent_eval,
    "router_llm": corpus_router_llm,
    "router_rule": corpus_router_rule,
    "clarify_answered": corpus_clarify_answered,
    "clarify_timeout": corpus_clarify_timeout,
    "user_input": corpus_user_input,
    "local": corpus_local,
    "custom": corpus_custom,
    "failed": corpus_failed,
    "by_name": corpus_by_name,
    "sealed": corpus_sealed,
}
"""Case name (history file name) -> the flow its history replays against."""


def register_all() -> None:
    """Make this process able to replay every case (and the older tests.durable:by_name_flow)."""
    from flows import durable

    for flow in CASES.values():
        flow.register()
    durable.by_name_flow.register()


__all__ = ["CASES", "TEST_PAYLOAD_KEY", "register_all"]
