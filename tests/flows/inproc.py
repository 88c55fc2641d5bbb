"""A flow whose step waits for the test: for the in-process worker tests (tests/test_inproc_drain.py).

``gate`` appends ``start:<input>:<pid>`` to the file named by REFINIRE_TEST_LEDGER, waits until the
file ``<ledger>.<input>.release`` exists, then appends ``end:<input>:<pid>``. One attempt only
(``retry=1``): an attempt a stopping worker abandoned would fail the run.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from refinire import Flow, FunctionStep


def _ledger(line: str) -> None:
    with Path(os.environ["REFINIRE_TEST_LEDGER"]).open("a") as f:
        f.write(f"{line}:{os.getpid()}\n")


def gate(data, ctx):
    _ledger(f"start:{data}")
    release = Path(f"{os.environ['REFINIRE_TEST_LEDGER']}.{data}.release")
    deadline = time.monotonic() + 120
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    _ledger(f"end:{data}")
    return f"{data} passed"


gate_flow = Flow(
    steps=[FunctionStep("gate", gate, heartbeat=1.0, retry=1),
           FunctionStep("after", lambda data, ctx: f"{data}, then after")],
    name="tests.inproc:gate_flow",
)
