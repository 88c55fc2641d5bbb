"""Flows the worker-crash tests run in worker subprocesses. Every step writes the ledger.

The input of a run is its tag; steps pass it on and record which process ran them in
``shared_state["pid:<step>"]``, so the recorded result names the execution Temporal kept.
"""

from __future__ import annotations

import os

from refinire import Flow, FunctionStep
from reliability.ledger import block_until_released, mark


def quick(name: str):
    def step(data, ctx):
        mark(data, name, "start")
        ctx.shared_state[f"pid:{name}"] = os.getpid()
        mark(data, name, "end")
        return data

    step.__name__ = name
    return step


def held(name: str, release: str | None = None):
    """Starts, then waits for the test's release file (per run, or shared) before it ends."""

    def step(data, ctx):
        mark(data, name, "start")
        block_until_released(release or data)
        ctx.shared_state[f"pid:{name}"] = os.getpid()
        mark(data, name, "end")
        return data

    step.__name__ = name
    return step


HEARTBEAT_S = 1.0

func_flow = Flow(steps=[
    FunctionStep("first", quick("first")),
    FunctionStep("slow", held("slow"), heartbeat=HEARTBEAT_S),
    FunctionStep("last", quick("last")),
], name="rel.crash:func")

parallel_flow = Flow(start="prep", steps={
    "prep": FunctionStep("prep", quick("prep")),
    "fan": {"parallel": [FunctionStep("fast", quick("fast")),
                         FunctionStep("held", held("held"), heartbeat=HEARTBEAT_S)],
            "next_step": "join"},
    "join": FunctionStep("join", lambda data, ctx: quick("join")(data["fast"], ctx)),
}, name="rel.crash:parallel")

many_flow = Flow(steps=[
    FunctionStep("a", quick("a")),
    FunctionStep("b", held("b", release="many"), heartbeat=HEARTBEAT_S),
    FunctionStep("c", quick("c")),
], name="rel.crash:many")
