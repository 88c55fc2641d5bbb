"""Flows for tests/test_progress.py: steps that wait on files the test creates, so a test moves a
run forward one step at a time without sleeping."""

from __future__ import annotations

import os
import time
from pathlib import Path

from refinire import Flow, FunctionStep, UserInputStep

GATES_ENV = "REFINIRE_TEST_GATES"
"""A folder: step ``NAME`` waits until the file ``NAME.go`` exists in it."""


def _gate(name: str) -> None:
    gate = Path(os.environ[GATES_ENV]) / f"{name}.go"
    end = time.monotonic() + 120
    while not gate.exists():  # the test opens the gate
        if time.monotonic() > end:
            raise TimeoutError(f"nobody opened {gate}")
        time.sleep(0.05)


def _gated(name: str):
    def step(data, ctx):
        _gate(name)
        return f"{data}>{name}"
    step.__name__ = name
    return step


gated = Flow(steps=[FunctionStep(n, _gated(n)) for n in ("one", "two", "three")])


def flaky(data, ctx):
    """Fails until its gate is open: the test watches the attempts pile up."""
    if not (Path(os.environ[GATES_ENV]) / "flaky.go").exists():
        raise ValueError("flaky is not ready yet")
    return f"{data}>flaky"


retrying = Flow(steps=[FunctionStep("flaky", flaky)], retry=100)


def broken(data, ctx):
    raise ValueError(f"broken cannot take {data!r}")


failing = Flow(steps=[FunctionStep("prepare", lambda data, ctx: data), FunctionStep("broken", broken)],
               retry=1)


unserved = Flow(steps=[UserInputStep("ask", prompt="Anyone there?")])
"""Never served by a worker in the tests: what ``watch`` says of a run no worker runs."""
