"""Long flows for tests/test_long_flows.py: loops that cross many continue-as-new boundaries.

Every ``work`` visit appends its iteration to REFINIRE_TEST_LOG (when set), so a test can tell which
iterations ran and how often.
"""

from __future__ import annotations

import os
from pathlib import Path

from refinire import ConditionStep, Flow, FunctionStep, HistoryBudget, UserInputStep

SMALL_BUDGET = HistoryBudget(max_events=300)
"""About 50 steps per Temporal run: a few-thousand-step loop crosses dozens of continuations."""
STATE_BYTES = 4_000


def _log(line: str) -> None:
    path = os.environ.get("REFINIRE_TEST_LOG")
    if path:
        with Path(path).open("a") as f:
            f.write(line + "\n")


def setup(data, ctx):
    ctx.shared_state.update(n=int(data), i=0, blob="x" * STATE_BYTES, seen=[])
    return 0


def work(data, ctx):
    i = ctx.shared_state["i"] + 1
    ctx.shared_state["i"] = i
    ctx.shared_state["seen"] = ctx.shared_state["seen"][-4:] + [i]
    _log(f"work {i}")
    return i


def more(ctx) -> bool:
    return ctx.shared_state["i"] < ctx.shared_state["n"]


def done(data, ctx):
    return f"done {data} of {ctx.shared_state['n']} with {len(ctx.shared_state['blob'])} bytes"


def _loop(name: str, **options) -> Flow:
    return Flow({
        "setup": FunctionStep("setup", setup, next_step="work"),
        "work": FunctionStep("work", work),
        "more": ConditionStep("more", more, "work", "done"),
        "done": FunctionStep("done", done),
    }, name=name, max_steps=100_000, history_budget=SMALL_BUDGET, **options)


long_loop = _loop("long_loop")
local_loop = _loop("long_local_loop", local=True)

endless = Flow({
    "spin": FunctionStep("spin", lambda data, ctx: (data or 0) + 1),
    "again": ConditionStep("again", lambda ctx: True, "spin", "spin"),
}, name="long_endless", max_steps=250, history_budget=SMALL_BUDGET)
"""Never ends by itself: ``max_steps`` must stop it, counted across the whole chain."""

ask_after_loop = Flow({
    "setup": FunctionStep("setup", setup, next_step="work"),
    "work": FunctionStep("work", work),
    "more": ConditionStep("more", more, "work", "ask"),
    "ask": UserInputStep("ask", "Which colour?"),
    "finish": FunctionStep("finish", lambda data, ctx: f"{data} after {ctx.shared_state['i']}"),
}, name="long_ask", max_steps=100_000, history_budget=SMALL_BUDGET)


def rewrite(data, ctx):
    """Each visit writes a fresh 150 KB value: every local step's result is that big."""
    i = ctx.shared_state.get("i", 0) + 1
    ctx.shared_state["i"] = i
    ctx.shared_state["page"] = f"{i:06d}" + "p" * 150_000
    _log(f"work {i}")
    return i


heavy_local_loop = Flow({
    "work": FunctionStep("work", rewrite),
    "more": ConditionStep("more", lambda ctx: ctx.shared_state["i"] < 40, "work", "done"),
    "done": FunctionStep("done", lambda data, ctx: f"{data} pages, last {ctx.shared_state['page'][:6]}"),
}, name="long_heavy_local", local=True)
"""40 local steps of 150 KB results: 6 MB in one workflow task without the byte-sized checkpoints,
over the 4 MB gRPC limit that would leave the task failing forever."""
