"""``python -m bench --long``: does a step cost the same at step 100 and at step 20,000?

Two loops (``work → more? → work … → done``) on the bench's own embedded server, with an
in-process worker: one on regular activities carrying ``--state-bytes`` of ``shared_state``, one of
local steps. Each is read back from its whole chain of Temporal runs (continue-as-new) and reported:
per-step latency and history bytes per step over the first and the last 100 steps (and their
ratio, the figure that shows a quadratic), worker RSS at the start and the end, wall time and the
number of continuations. Not in CI: the default sizes take tens of minutes.
"""

from __future__ import annotations

import asyncio
import resource
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from refinire import ConditionStep, Flow, FunctionStep

WINDOW = 100
_STEP_EVENTS = {EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, EventType.EVENT_TYPE_MARKER_RECORDED,
                EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED}


WORK_TIMES: list[float] = []
"""When each ``work`` step ran (the worker is in this process): an iteration's latency is the gap
between two, and an iteration is two steps (``work`` and the ``more`` condition)."""


def _work(data: Any, ctx: Any) -> int:
    WORK_TIMES.append(time.perf_counter())
    state = ctx.shared_state
    state["i"] = state.get("i", 0) + 1
    return state["i"]


def loop_flow(name: str, iterations: int, state_bytes: int, *, local: bool) -> Flow:
    def setup(data: Any, ctx: Any) -> int:
        ctx.shared_state.update(n=iterations, i=0, blob="s" * state_bytes)
        return 0

    return Flow({
        "setup": FunctionStep("setup", setup, next_step="work"),
        "work": FunctionStep("work", _work),
        "more": ConditionStep("more", lambda ctx: ctx.shared_state["i"] < ctx.shared_state["n"],
                              "work", "done"),
        "done": FunctionStep("done", lambda data, ctx: data),
    }, name=name, local=local, max_steps=2 * iterations + 10)


def rss_mb() -> float:
    """This process's resident set (the worker runs in it), in MB."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class LoopFigures:
    name: str
    steps: int = 0
    wall_s: float = 0.0
    continuations: int = 0
    history_bytes: int = 0
    first_ms: float = 0.0
    last_ms: float = 0.0
    first_ms_1000: float = 0.0
    """Per-step latency over the first and last 1,000 steps: a window that also holds the local
    steps' periodic checkpoint (one every 500 local steps), so its cost is counted fairly."""
    last_ms_1000: float = 0.0
    first_bytes: float = 0.0
    mid_bytes: float = 0.0
    """Bytes per step over 100 steps in the middle of the run: against the last 100 it shows whether
    what grows from the first 100 is the run's length (it would grow again) or the digits of the
    counters in ids and values (it does not)."""
    last_bytes: float = 0.0
    first_bytes_1000: float = 0.0
    """Bytes per step over the first and last 1,000 steps: windows long enough to hold the same share
    of what comes in batches (a continuation's start event, a local-steps checkpoint)."""
    last_bytes_1000: float = 0.0
    rss_start_mb: float = 0.0
    rss_end_mb: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def latency_ratio(self) -> float:
        return self.last_ms / self.first_ms if self.first_ms else float("nan")

    @property
    def bytes_ratio(self) -> float:
        return self.last_bytes / self.first_bytes if self.first_bytes else float("nan")


async def per_step(client: Client, run_id: str) -> tuple[list[int], int]:
    """(history bytes of each step, continuations) over the whole chain.

    A step begins at the event that records it: its activity's scheduling, its local activity's
    marker, or a condition's decision memo. Every event up to the next step's is charged to it,
    workflow tasks and continuations included."""
    from client.history.chain import fetch_chain

    sizes: list[int] = []
    chain = await fetch_chain(client, run_id)
    for history in chain:
        for ev in history.events:
            if ev.event_type in _STEP_EVENTS and not (
                    ev.HasField("activity_task_scheduled_event_attributes")
                    and ev.activity_task_scheduled_event_attributes.activity_type.name == "refinire.checkpoint"):
                sizes.append(0)
            if sizes:
                sizes[-1] += ev.ByteSize()
    return sizes, len(chain) - 1


async def measure_loop(client: Client, flow: Flow, progress_every: int = 2000) -> LoopFigures:
    from client.running.start import start_run
    from client.serving.worker import build_worker

    fig = LoopFigures(flow.durable_name)
    rss_samples: list[float] = []
    WORK_TIMES.clear()
    async with build_worker(client, flow):
        t0 = time.perf_counter()
        handle = await start_run(client, flow.durable_name, flow, 0, None, None)

        async def sample() -> None:
            while True:
                rss_samples.append(rss_mb())
                await asyncio.sleep(1.0)

        sampler = asyncio.create_task(sample())
        try:
            await handle.result()
        finally:
            sampler.cancel()
        fig.wall_s = time.perf_counter() - t0
    sizes, fig.continuations = await per_step(client, handle.id)
    fig.steps = len(sizes)
    fig.history_bytes = sum(sizes)
    gaps = [(b - a) / 2 for a, b in zip(WORK_TIMES, WORK_TIMES[1:])]
    fig.first_ms = statistics.mean(gaps[:WINDOW // 2]) * 1000
    fig.last_ms = statistics.mean(gaps[-WINDOW // 2:]) * 1000
    fig.first_ms_1000 = statistics.mean(gaps[:500]) * 1000
    fig.last_ms_1000 = statistics.mean(gaps[-500:]) * 1000
    fig.first_bytes = statistics.mean(sizes[:WINDOW])
    mid = len(sizes) // 2
    fig.mid_bytes = statistics.mean(sizes[mid:mid + WINDOW])
    fig.first_bytes_1000 = statistics.mean(sizes[:1000])
    fig.last_bytes_1000 = statistics.mean(sizes[-1001:-1])
    fig.last_bytes = statistics.mean(sizes[-WINDOW - 1:-1])  # the final step also carries the close
    # RSS: the first samples after start-up, and the last ones.
    fig.rss_start_mb = rss_samples[min(2, len(rss_samples) - 1)] if rss_samples else rss_mb()
    fig.rss_end_mb = rss_samples[-1] if rss_samples else rss_mb()
    return fig


def report(figs: list[LoopFigures]) -> str:
    head = (f"{'loop':<22}{'steps':>8}{'wall s':>9}{'cont.':>7}{'ms/step first':>15}{'last':>8}"
            f"{'ratio':>7}{'(1000 steps)':>13}{'B/step first':>14}{'mid':>7}{'last':>7}{'ratio':>7}"
            f"{'(1000 steps)':>13}"
            f"{'RSS MB start':>14}{'end':>7}")
    rows = [head, "-" * len(head)]
    for f in figs:
        rows.append(f"{f.name:<22}{f.steps:>8}{f.wall_s:>9.1f}{f.continuations:>7}{f.first_ms:>15.2f}"
                    f"{f.last_ms:>8.2f}{f.latency_ratio:>7.2f}{f.last_ms_1000 / f.first_ms_1000:>13.2f}"
                    f"{f.first_bytes:>14.0f}{f.mid_bytes:>7.0f}{f.last_bytes:>7.0f}"
                    f"{f.bytes_ratio:>7.2f}{f.last_bytes_1000 / f.first_bytes_1000:>13.2f}{f.rss_start_mb:>14.0f}{f.rss_end_mb:>7.0f}")
    return "\n".join(rows)


async def run_long(iterations: int, state_bytes: int, local_iterations: int) -> list[LoopFigures]:
    from bench.server import bench_server
    from client.connection.connect import connect

    figs = []
    async with bench_server():
        client = await connect()
        if iterations:
            print(f"… {iterations:,} iterations on activities, {state_bytes:,} B of state", file=sys.stderr)
            figs.append(await measure_loop(client, loop_flow("bench.long", iterations, state_bytes,
                                                              local=False)))
        if local_iterations:
            print(f"… {local_iterations:,} iterations of local steps", file=sys.stderr)
            figs.append(await measure_loop(client, loop_flow("bench.long-local", local_iterations, 1_000,
                                                              local=True)))
    return figs
