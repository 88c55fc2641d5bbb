"""Flows for the CLI tests. Each step appends its name to REFINIRE_TEST_LOG, so a test can count
how often a step really ran; ``fragile`` fails until the file ``<log>.fixed`` exists."""

from __future__ import annotations

import os
from pathlib import Path

from refinire import ConditionStep, Flow, FunctionStep, UserInputStep

LIMIT = 3
"""The threshold ``is_long`` compares with; a test changes it to simulate a changed condition."""


def _log(name: str) -> None:
    with Path(os.environ["REFINIRE_TEST_LOG"]).open("a") as f:
        f.write(name + "\n")


def fetch(data, ctx):
    _log("fetch")
    ctx.shared_state["fetched"] = True
    return f"{data}>fetch"


def enrich(data, ctx):
    _log("enrich")
    return f"{data}>enrich"


def fragile(data, ctx):
    _log("fragile")
    if not Path(os.environ["REFINIRE_TEST_LOG"] + ".fixed").exists():
        raise ValueError("the fragile step is broken")
    return f"{data}>fragile(fetched={ctx.shared_state.get('fetched')})"


def publish(data, ctx):
    _log("publish")
    return f"{data}>publish"


pipeline = Flow(
    steps=[FunctionStep("fetch", fetch), FunctionStep("enrich", enrich),
           FunctionStep("fragile", fragile), FunctionStep("publish", publish)],
    retry=1,
)


def measure(data, ctx):
    return len(str(data))


def is_long(ctx):
    return ctx.result > LIMIT


def long_text(data, ctx):
    return "long"


def short_text(data, ctx):
    return "short"


branchy = Flow(start="measure", steps={
    "measure": FunctionStep("measure", measure, next_step="check"),
    "check": ConditionStep("check", is_long, "long", "short"),
    "long": FunctionStep("long", long_text),
    "short": FunctionStep("short", short_text),
})


def greet(data, ctx):
    return f"hello {data}"


asking = Flow(steps=[UserInputStep("ask", prompt="Your name?"), FunctionStep("greet", greet)])


pipeline_local = Flow(
    steps=[FunctionStep("fetch", fetch), FunctionStep("enrich", enrich),
           FunctionStep("fragile", fragile), FunctionStep("publish", publish)],
    retry=1, local=True,
)
