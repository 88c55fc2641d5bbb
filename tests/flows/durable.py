"""Flows served by worker subprocesses in the durability tests.

Each step appends its name to the file named by REFINIRE_TEST_LEDGER, so a test can count how
often a step really ran across worker crashes.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from refinire import ConditionStep, Flow, FunctionStep


def _ledger(name: str) -> None:
    path = Path(os.environ["REFINIRE_TEST_LEDGER"])
    with path.open("a") as f:
        f.write(name + "\n")
        f.flush()


def first(data, ctx):
    _ledger("first")
    return f"{data}+first"


def slow(data, ctx):
    _ledger("slow:start")
    release = Path(os.environ["REFINIRE_TEST_LEDGER"] + ".release")
    deadline = time.monotonic() + 60
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    _ledger("slow:end")
    return f"{data}+slow"


def last(data, ctx):
    _ledger("last")
    return f"{data}+last"


crash_flow = Flow(
    steps=[FunctionStep("first", first), FunctionStep("slow", slow, heartbeat=1.0), FunctionStep("last", last)],
    name="tests.durable:crash_flow",
)


def is_long(ctx):
    return len(str(ctx.result)) > 5


by_name_flow = Flow(
    {
        "prep": FunctionStep("prep", lambda data, ctx: f"<{data}>"),
        "check": ConditionStep("check", is_long, "long", "short"),
        "long": FunctionStep("long", lambda data, ctx: f"long {data}"),
        "short": FunctionStep("short", lambda data, ctx: f"short {data}"),
    },
    name="tests.durable:by_name_flow",
)
