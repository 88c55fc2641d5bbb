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
import dataclasses
import enum
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import PurePosixPath
from uuid import UUID
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from refinire import (
    ClarifyAgent,
    ConditionStep,
    Flow,
    FunctionStep,
    HistoryBudget,
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


# ---------------------------------------------------------------------------------------------
# Format 2 (0.2.0): lean activity contexts and deltas, diff merges, continue-as-new chains,
# checkpoints of local steps. Each case below is a separate flow; like the ones above, never edit.
# ---------------------------------------------------------------------------------------------

CHAIN_BUDGET = HistoryBudget(max_events=50)
"""About 8 activity steps per Temporal run: a loop of a few dozen steps crosses several continuations."""
CHAIN_STATE_BYTES = 3_000


def chain_setup(data, ctx):
    ctx.shared_state.update(n=int(data), i=0, blob="c" * CHAIN_STATE_BYTES,
                            table={f"row{k}": k * k for k in range(20)}, seen=[])
    return 0


def chain_work(data, ctx):
    i = ctx.shared_state["i"] + 1
    ctx.shared_state["i"] = i
    ctx.shared_state["seen"] = ctx.shared_state["seen"][-3:] + [i]
    return data + i


def chain_more(ctx):
    return ctx.shared_state["i"] < ctx.shared_state["n"]


def chain_done(data, ctx):
    return f"sum {data} after {ctx.shared_state['i']} with {len(ctx.shared_state['blob'])} bytes"


# chain: a loop that continues as new at least three times, carrying a few KB of state -------
corpus_chain = Flow(
    {
        "setup": FunctionStep("setup", chain_setup, next_step="work"),
        "work": FunctionStep("work", chain_work),
        "more": ConditionStep("more", chain_more, "work", "done"),
        "done": FunctionStep("done", chain_done),
    },
    name="corpus_chain", history_budget=CHAIN_BUDGET,
)


# chain_wait: a loop continues as new, then a question is answered in a later Temporal run ---
def chain_finish(data, ctx):
    return f"{data} after {ctx.shared_state['i']} rounds"


corpus_chain_wait = Flow(
    {
        "setup": FunctionStep("setup", chain_setup, next_step="work"),
        "work": FunctionStep("work", chain_work),
        "more": ConditionStep("more", chain_more, "work", "ask"),
        "ask": UserInputStep("ask", "Which colour?"),
        "finish": FunctionStep("finish", chain_finish),
    },
    name="corpus_chain_wait", history_budget=CHAIN_BUDGET,
)


# parallel_merge: branches merge as diffs: extend, sum, a function, a delete, disjoint writes -
def merge_prep(data, ctx):
    ctx.shared_state.update(log=["prep"], count=10, doomed="to be deleted", best="", kept="as is")
    return f"<{data}>"


def longer(a, b):
    """Merge function for ``best``: the longer text wins (runs in the workflow, so pure)."""
    return b if len(b) > len(a) else a


def merge_branch(label, inc, *, delete=False):
    def step(data, ctx):
        ctx.shared_state["log"] = ctx.shared_state["log"] + [label]
        ctx.shared_state["count"] = ctx.shared_state["count"] + inc
        ctx.shared_state["best"] = label * inc
        ctx.shared_state[f"{label}_only"] = f"{label} saw {data}"
        if delete:
            del ctx.shared_state["doomed"]
        return f"{label}:{data}"

    step.__qualname__ = f"merge_branch.{label}"
    return step


def merge_join(data, ctx):
    s = ctx.shared_state
    return (f"{' | '.join(f'{k}={v}' for k, v in sorted(data.items()))} ; log={s['log']} "
            f"count={s['count']} best={s['best']} doomed={'doomed' in s}")


corpus_parallel_merge = Flow(
    {
        "prep": FunctionStep("prep", merge_prep),
        "fan": {"parallel": [FunctionStep("a", merge_branch("a", 1)),
                             FunctionStep("b", merge_branch("b", 3, delete=True)),
                             FunctionStep("c", merge_branch("c", 2))],
                "max_workers": 2, "next_step": "join",
                "merge": {"log": "extend", "count": "sum", "best": longer}},
        "join": FunctionStep("join", merge_join),
    },
    name="corpus_parallel_merge",
)


# local_loop: ~250 local steps in a row: the run checkpoints its workflow task (a 1 ms timer) --
def local_setup(data, ctx):
    ctx.shared_state.update(n=int(data), i=0)
    return 0


def local_work(data, ctx):
    ctx.shared_state["i"] += 1
    return data + 1


def local_more(ctx):
    return ctx.shared_state["i"] < ctx.shared_state["n"]


corpus_local_loop = Flow(
    {
        "setup": FunctionStep("setup", local_setup, next_step="work"),
        "work": FunctionStep("work", local_work),
        "more": ConditionStep("more", local_more, "work", "done"),
        "done": FunctionStep("done", lambda data, ctx: f"local loop ran {data} times"),
    },
    name="corpus_local_loop", local=True, max_steps=2_000,
)


# big_state: ~200 KB of shared_state across a few steps -------------------------------------
BIG_STATE_BYTES = 200_000


def big_fill(data, ctx):
    ctx.shared_state["big"] = str(data) * (BIG_STATE_BYTES // max(len(str(data)), 1))
    ctx.shared_state["rows"] = [{"id": k, "text": f"row {k}"} for k in range(200)]
    return len(ctx.shared_state["big"])


def big_touch(data, ctx):
    ctx.shared_state["touched"] = True
    ctx.shared_state["rows"][0]["text"] = "row zero"
    return data


def big_check(ctx):
    return len(ctx.shared_state["big"]) >= BIG_STATE_BYTES - 10


def big_report(data, ctx):
    return f"{data} bytes, {len(ctx.shared_state['rows'])} rows, first {ctx.shared_state['rows'][0]['text']!r}"


corpus_big_state = Flow(
    {
        "fill": FunctionStep("fill", big_fill),
        "touch": FunctionStep("touch", big_touch),
        "check": ConditionStep("check", big_check, "report", "small"),
        "report": FunctionStep("report", big_report),
        "small": FunctionStep("small", lambda data, ctx: "too small"),
    },
    name="corpus_big_state",
)


# types: typed values in shared_state and as step outputs, read back by a condition and a step ---
class Color(enum.Enum):
    RED = "red"
    TEAL = "teal"


@dataclasses.dataclass
class Parcel:
    sku: str
    weight: Decimal
    dims: tuple[int, int, int]
    labels: frozenset[str] = frozenset()


class Order(BaseModel):
    id: UUID
    placed: datetime
    total: Decimal
    color: Color
    lines: dict[int, str]
    note: str = ""
    """Left at its default, so it travels as unset."""


TYPES_ORDER_ID = UUID("5f0c6a1e-8a4b-4c2d-9e7f-0123456789ab")
TYPES_BLOB = b"\xff\xfe\x00\x80 not utf-8 \xc3\x28"
TYPES_PLACED = datetime(2026, 5, 1, 9, 30, tzinfo=ZoneInfo("Asia/Tokyo"))
TYPES_SHIPPED = datetime(2026, 5, 2, 18, 5, 30, 250_000, tzinfo=timezone(timedelta(hours=-5)))


def types_make(data, ctx):
    order = Order(id=TYPES_ORDER_ID, placed=TYPES_PLACED, total=Decimal("19.90"), color=Color.TEAL,
                  lines={1: f"{data} widget", 2: "gift wrap"})
    ctx.shared_state.update(
        placed=TYPES_PLACED, shipped=TYPES_SHIPPED, due=date(2026, 5, 9), window=timedelta(hours=36),
        total=Decimal("19.90"), order_id=TYPES_ORDER_ID, tags={"gift", "fragile", "b"},
        dims=(30, 20, 10), blob=TYPES_BLOB, by_int={1: "one", 2: "two", -7: "minus seven"},
        color=Color.TEAL, where=PurePosixPath("/srv/orders/a.json"), tagged={"$type": "a user's own key"},
        parcel=Parcel("SKU-1", Decimal("1.250"), (30, 20, 10), frozenset({"top", "up"})), order=order,
    )
    return order


def types_fit(ctx):
    """Every value came back with its type (runs in the workflow: the decision is in the history)."""
    s, order = ctx.shared_state, ctx.result
    return (isinstance(order, Order) and order.id == TYPES_ORDER_ID and order.lines[1].endswith("widget")
            and order.color is Color.TEAL and "note" not in order.model_fields_set
            and s["placed"] == TYPES_PLACED and getattr(s["placed"].tzinfo, "key", None) == "Asia/Tokyo"
            and s["shipped"] == TYPES_SHIPPED and s["shipped"].utcoffset() == timedelta(hours=-5)
            and type(s["due"]) is date and s["window"] == timedelta(hours=36)
            and type(s["total"]) is Decimal and str(s["total"]) == "19.90"
            and s["order_id"] == TYPES_ORDER_ID and s["tags"] == {"gift", "fragile", "b"}
            and s["dims"] == (30, 20, 10) and s["blob"] == TYPES_BLOB
            and s["by_int"] == {1: "one", 2: "two", -7: "minus seven"} and s["color"] is Color.TEAL
            and s["where"] == PurePosixPath("/srv/orders/a.json") and s["tagged"] == {"$type": "a user's own key"}
            and type(s["parcel"]) is Parcel and s["parcel"].labels == frozenset({"top", "up"})
            and type(s["order"]) is Order and s["order"] == order)


def _kinds(values):
    return [f"{k}:{type(v).__name__}" for k, v in values.items()]


def types_use(data, ctx):
    s = ctx.shared_state
    ctx.shared_state["seen"] = _kinds({"result": data, **{k: s[k] for k in sorted(s)}})
    ctx.shared_state["late"] = s["placed"] + s["window"]
    return Parcel(f"SKU-{data.lines[1].split()[0]}", data.total + s["parcel"].weight, s["dims"][::-1],
                  frozenset(s["tags"]) | s["parcel"].labels)


def types_finish(data, ctx):
    s = ctx.shared_state
    return (s["color"], data, s["blob"][::-1], {len(data.labels): s["order"].id}, s["total"] * 2)


corpus_types = Flow(
    {
        "make": FunctionStep("make", types_make),
        "typed": ConditionStep("typed", types_fit, "use", "mismatch"),
        "use": FunctionStep("use", types_use),
        "finish": FunctionStep("finish", types_finish, next_step=Flow.END),
        "mismatch": FunctionStep("mismatch", lambda data, ctx: "a value lost its type"),
    },
    name="corpus_types",
)


# handler_class: the error handler gets the user's own exception class, with its attributes ----
class PaymentDeclined(Exception):
    def __init__(self, message, code, retry_in):
        super().__init__(message)
        self.code = code
        self.retry_in = retry_in


def charge(data, ctx):
    raise PaymentDeclined(f"card declined for {data}", code="card_expired", retry_in=30.5)


def on_declined(error, ctx):
    if isinstance(error, PaymentDeclined) and error.code == "card_expired" and error.retry_in == 30.5:
        ctx.shared_state.update(error_class=f"{type(error).__module__}.{type(error).__qualname__}",
                                code=error.code, retry_in=error.retry_in, message=str(error))
        return "fallback"
    ctx.shared_state["error_class"] = f"{type(error).__module__}.{type(error).__qualname__}"
    return "unexpected"


corpus_handler_class = Flow(
    {
        "charge": FunctionStep("charge", charge, retry=RetrySpec(max_attempts=2, initial_interval_s=0.05)),
        "done": FunctionStep("done", lambda data, ctx: f"charged {data}", next_step=Flow.END),
        "fallback": FunctionStep(
            "fallback",
            lambda data, ctx: f"retry {data} in {ctx.shared_state['retry_in']} s ({ctx.shared_state['code']})",
            next_step=Flow.END),
        "unexpected": FunctionStep(
            "unexpected", lambda data, ctx: f"not the class: {ctx.shared_state['error_class']}"),
    },
    name="corpus_handler_class",
)
corpus_handler_class.set_error_handler(on_declined)


# cancelled: the run is cancelled while an async, heartbeating step runs; it ends CANCELED -------
CANCEL_STARTED: list[str] = []
"""Inputs of the ``wait`` steps that started in this process (the recorder cancels once it has one)."""
CANCEL_SEEN: list[str] = []


async def wait_for_cancel(data, ctx):
    CANCEL_STARTED.append(str(data))
    try:
        await asyncio.sleep(120)
    except asyncio.CancelledError:
        CANCEL_SEEN.append(str(data))
        raise
    return f"{data} was never cancelled"


def on_cancel_error(error, ctx):
    """Never called for a cancel; if it were, the run would go on to ``fallback``."""
    return "fallback"


corpus_cancelled = Flow(
    {
        "before": FunctionStep("before", lambda data, ctx: f"<{data}>"),
        "wait": FunctionStep("wait", wait_for_cancel, heartbeat=1),
        "after": FunctionStep("after", lambda data, ctx: f"after {data}", next_step=Flow.END),
        "fallback": FunctionStep("fallback", lambda data, ctx: f"fell back from {data}"),
    },
    name="corpus_cancelled",
)
corpus_cancelled.set_error_handler(on_cancel_error)


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
    "chain": corpus_chain,
    "chain_wait": corpus_chain_wait,
    "parallel_merge": corpus_parallel_merge,
    "local_loop": corpus_local_loop,
    "big_state": corpus_big_state,
    "types": corpus_types,
    "handler_class": corpus_handler_class,
    "cancelled": corpus_cancelled,
}
"""Case name (history file name) -> the flow its history replays against."""


def register_all() -> None:
    """Make this process able to replay every case (and the older tests.durable:by_name_flow)."""
    from flows import durable

    for flow in CASES.values():
        flow.register()
    durable.by_name_flow.register()


__all__ = ["CASES", "TEST_PAYLOAD_KEY", "register_all"]
