"""``python -m bench --ops``: do ``show``, ``rerun --from`` and ``replay`` cost linear in a run's length?

A loop (``setup → work → more? → work … → done``, 4 KB of ``shared_state``, continuing as new
at 300 events (about every 85 steps, the budget of ``tests/flows/long.py``) or, with ``--ops-budget
default``, at Temporal's own bar) is run to 1,000 and to 6,000 steps on the
bench's own embedded server with an in-process worker; then each command runs in this process as
the CLI runs it (``client.operations.cli.amain``), several rounds, and the median wall time is
reported, with seconds per 1,000 steps. Seconds per 1,000 steps flat from 1,000 to 6,000 steps
(ratio about 1) means linear; a quadratic doubles it every time the run doubles.

- ``show RUN``: reads and draws the whole chain;
- ``rerun RUN --from work --detach``: reads the chain, finds the context before the last ``work``
  (an activity: its input is recorded) and starts the new run (not waited for: its few steps are
  not the old run's cost); ``--from more``: the same from a condition, whose context is rebuilt;
- ``replay RUN``: reads the chain and replays each of its Temporal runs with the current code;
- ``runs``: the listing (one row per run, whatever its length), as a control.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from refinire import ConditionStep, Flow, FunctionStep, HistoryBudget

STATE_BYTES = 4_000
BUDGET = HistoryBudget(max_events=300)
"""About 50 steps per Temporal run: a 6,000-step run is a chain of about 120."""
SIZES = (1_000, 6_000)
COMMANDS = ("show", "rerun work", "rerun more", "replay", "runs")


def _setup(data: Any, ctx: Any) -> int:
    ctx.shared_state.update(n=int(data), i=0, blob="x" * STATE_BYTES)
    return 0


def _work(data: Any, ctx: Any) -> int:
    ctx.shared_state["i"] += 1
    return ctx.shared_state["i"]


def _more(ctx: Any) -> bool:
    return ctx.shared_state["i"] < ctx.shared_state["n"]


def _done(data: Any, ctx: Any) -> str:
    return f"done {data}"


def _loop(name: str, budget: HistoryBudget | None) -> Flow:
    return Flow({
        "setup": FunctionStep("setup", _setup, next_step="work"),
        "work": FunctionStep("work", _work),
        "more": ConditionStep("more", _more, "work", "done"),
        "done": FunctionStep("done", _done),
    }, name=name, max_steps=1_000_000, history_budget=budget)


ops_loop = _loop("bench_ops_loop", BUDGET)
"""Importable as ``bench.ops`` (``--module bench.ops``): replay and rerun load its code."""
ops_loop_default = _loop("bench_ops_loop_default", None)
"""The same loop continuing at Temporal's own bar (about 4,100 events, some 1,000 steps a run)."""
LOOPS = {"300": ops_loop, "default": ops_loop_default}


@dataclass
class OpsFigures:
    steps: int
    continuations: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    """Median wall seconds of each command."""

    def per_1000(self, command: str) -> float:
        return self.seconds[command] / self.steps * 1000


def command_args(command: str, run_id: str) -> list[str]:
    return {"show": ["show", run_id],
            "rerun work": ["rerun", run_id, "--from", "work", "--detach"],
            "rerun more": ["rerun", run_id, "--from", "more", "--detach"],
            "replay": ["replay", run_id, "--module", "bench.ops"],
            "runs": ["runs"]}[command]


async def run_command(argv: list[str]) -> tuple[int, str]:
    """One CLI command in this process: (exit status, what it printed)."""
    from client.operations import cli

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = await cli.amain(argv)
    return code, out.getvalue()


async def make_run(client: Any, steps: int, flow: Flow = ops_loop) -> tuple[str, int]:
    """A completed run of about ``steps`` steps: (run id, continuations)."""
    from client.history.chain import fetch_chain
    from client.running.start import new_run_id, start_run
    from client.serving.worker import build_worker

    iterations = max(1, (steps - 2) // 2)
    async with build_worker(client, flow):
        handle = await start_run(client, flow.durable_name, flow, str(iterations), None,
                                 new_run_id(flow.durable_name))
        await handle.result()
    return handle.id, len(await fetch_chain(client, handle.id)) - 1


async def measure(client: Any, run_id: str, steps: int, continuations: int, rounds: int,
                  warm_up: bool = False) -> OpsFigures:
    """Median seconds of each command over ``rounds`` (after one untimed round with ``warm_up``:
    the first command of a process pays its imports)."""
    fig = OpsFigures(steps, continuations)
    for command in COMMANDS:
        times = []
        if warm_up:
            await run_command(command_args(command, run_id))
        for _ in range(rounds):
            t0 = time.perf_counter()
            code, text = await run_command(command_args(command, run_id))
            times.append(time.perf_counter() - t0)
            if code != 0:
                raise RuntimeError(f"`refinire-flow {' '.join(command_args(command, run_id))}` exited "
                                   f"with {code}:\n{text[-2000:]}")
        fig.seconds[command] = statistics.median(times)
    return fig


async def run_ops(sizes: tuple[int, ...] = SIZES, rounds: int = 3, budget: str = "300") -> list[OpsFigures]:
    from bench.server import bench_server
    from client.connection.connect import connect

    figs = []
    async with bench_server():
        client = await connect()
        for steps in sizes:
            print(f"… a {steps:,}-step run", file=sys.stderr, flush=True)
            run_id, continuations = await make_run(client, steps, LOOPS[budget])
            figs.append(await measure(client, run_id, steps, continuations, rounds, warm_up=not figs))
    return figs


def report(figs: list[OpsFigures]) -> str:
    head = f"{'command':<12}" + "".join(f"{f'{f.steps:,} steps s':>16}{'s/1000':>9}" for f in figs)
    if len(figs) > 1:
        head += f"{'ratio':>8}"
    rows = [f"continuations: " + ", ".join(f"{f.continuations} ({f.steps:,} steps)" for f in figs),
            head, "-" * len(head)]
    for c in COMMANDS:
        row = f"{c:<12}" + "".join(f"{f.seconds[c]:>16.2f}{f.per_1000(c):>9.3f}" for f in figs)
        if len(figs) > 1:
            row += f"{figs[-1].per_1000(c) / figs[0].per_1000(c):>8.2f}"
        rows.append(row)
    return "\n".join(rows)


def main_ops(sizes: tuple[int, ...], rounds: int, budget: str = "300") -> list[OpsFigures]:
    figs = asyncio.run(run_ops(sizes, rounds, budget))
    print(report(figs))
    return figs
