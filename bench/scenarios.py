"""The measurements. Ours and the baseline alternate run by run, so drift (other load on the
machine, the server's SQLite growing) hits both equally."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from temporalio.client import Client

from bench import flows
from bench.harness import baseline, baseline_worker, ours, running
from bench.server import cpu_s
from client.serving.worker import build_worker


@dataclass
class Sizes:
    """How much each scenario does. ``quick`` keeps the whole bench near a minute; its latency and
    throughput rounds are enough for its ratios to land near the full run's (docs/benchmarks.md)."""

    latency_rounds: int = 40
    warmup: int = 3
    throughput_runs: int = 200
    throughput_rounds: int = 4
    local_rounds: int = 15
    fanout_rounds: int = 3
    server_rounds: int = 6
    oneshot_rounds: int = 10

    @classmethod
    def quick(cls) -> "Sizes":
        return cls(latency_rounds=30, warmup=2, throughput_runs=40, throughput_rounds=2,
                   local_rounds=4, fanout_rounds=1, server_rounds=2, oneshot_rounds=2)


@dataclass
class Results:
    server_start_s: float = 0.0
    server_pid: int = 0
    stock_start_s: float = 0.0
    latency: dict[int, dict[str, list[float]]] = field(default_factory=dict)
    throughput: dict[str, list[float]] = field(default_factory=dict)
    local: dict[str, list[float]] = field(default_factory=dict)
    fanout: list[float] = field(default_factory=list)
    fanout_flow_run: list[float] = field(default_factory=list)
    history: dict[str, dict[str, Any]] = field(default_factory=dict)
    cpu: dict[int, dict[str, dict[str, float]]] = field(default_factory=dict)
    """Per flow size, ours/baseline: CPU seconds per run of this process (worker and client) and
    of the server, summed over the latency rounds and divided by their count."""
    servers: dict[str, list[float]] = field(default_factory=dict)
    """Per-step seconds of our flows on the embedded default and on a stock start-dev (bench.stock)."""
    oneshot: dict[str, list[float]] = field(default_factory=dict)
    """Seconds from process start to exit of a one-shot 3-step script (bench.oneshot)."""


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


async def latency(client: Client, sizes: Sizes, res: Results) -> None:
    """Rounds of one run each, ours then baseline, the order swapped every round (drift and
    after-effects such as a garbage collection hit both). CPU time is read around every run."""
    for n in flows.STEP_COUNTS:
        flow = flows.chain(n)
        times: dict[str, list[float]] = {"ours": [], "baseline": []}
        cpu = {who: {"process": 0.0, "server": 0.0} for who in times}
        run = {"ours": lambda: ours(client, flow), "baseline": lambda: baseline(client, n)}
        async with running(build_worker(client, flow), baseline_worker(client)):
            for _ in range(sizes.warmup):
                await ours(client, flow)
                await baseline(client, n)
            for i in range(sizes.latency_rounds):
                for who in (("ours", "baseline") if i % 2 == 0 else ("baseline", "ours")):
                    p0, s0 = time.process_time(), cpu_s(res.server_pid)
                    times[who].append((await run[who]())[0])
                    cpu[who]["process"] += time.process_time() - p0
                    cpu[who]["server"] += cpu_s(res.server_pid) - s0
            if n == 3:
                _, ours_id = await ours(client, flow)
                _, base_id = await baseline(client, n)
                res.history["ours_3"] = await history_stats(client, ours_id)
                res.history["baseline_3"] = await history_stats(client, base_id)
        res.latency[n] = times
        res.cpu[n] = {who: {k: v / sizes.latency_rounds for k, v in c.items()} for who, c in cpu.items()}


async def throughput(client: Client, sizes: Sizes, res: Results) -> None:
    """Runs per second for ``throughput_runs`` concurrent 3-step runs on one worker."""
    flow = flows.chain(3)
    res.throughput = {"ours": [], "baseline": []}
    async with running(build_worker(client, flow), baseline_worker(client)):
        for i in range(sizes.throughput_rounds):
            for who in (("ours", "baseline") if i % 2 == 0 else ("baseline", "ours")):
                t0 = time.perf_counter()
                if who == "ours":
                    await asyncio.gather(*(ours(client, flow) for _ in range(sizes.throughput_runs)))
                else:
                    await asyncio.gather(*(baseline(client, 3) for _ in range(sizes.throughput_runs)))
                res.throughput[who].append(sizes.throughput_runs / (time.perf_counter() - t0))


async def local_steps(client: Client, sizes: Sizes, res: Results) -> None:
    """Per-step time, regular vs local activities: (latency of 10 steps - latency of 1) / 9."""
    chains = {(n, local): flows.chain(n, local=local) for n in (1, 10) for local in (False, True)}
    times: dict[tuple[int, bool], list[float]] = {k: [] for k in chains}
    async with running(*(build_worker(client, f) for f in chains.values())):
        for flow in chains.values():
            for _ in range(sizes.warmup):
                await ours(client, flow)
        for _ in range(sizes.local_rounds):
            for key, flow in chains.items():
                times[key].append((await ours(client, flow))[0])
    for local, label in ((False, "regular"), (True, "local")):
        res.local[label] = [(a - b) / 9 for a, b in zip(times[(10, local)], times[(1, local)])]
        res.local[label + "_10_steps"] = times[(10, local)]


async def fanout(client: Client, sizes: Sizes, res: Results) -> None:
    """The guide's §2.2: wall time of a run on a running worker, and of ``flow.run`` as the guide
    times it (which also starts and stops the in-process worker)."""
    flow = flows.fanout()
    text = "Python is a programming language suitable for machine learning and AI development"
    async with running(build_worker(client, flow)):
        await ours(client, flow, text)
        for _ in range(sizes.fanout_rounds):
            res.fanout.append((await ours(client, flow, text))[0])
    for _ in range(sizes.fanout_rounds):
        t0 = time.perf_counter()
        out = await flow.run(text)
        res.fanout_flow_run.append(time.perf_counter() - t0)
        assert sorted(out.result["branches"]) == ["category", "keywords", "sentiment"], out.result


async def history_stats(client: Client, run_id: str) -> dict[str, Any]:
    """What one run costs the server: events, workflow tasks (round trips) and history bytes."""
    hist = await client.get_workflow_handle(run_id).fetch_history()
    kinds: Counter[str] = Counter()
    sizes: Counter[str] = Counter()
    for e in hist.events:
        kind = e.WhichOneof("attributes").removesuffix("_event_attributes")
        kinds[kind] += 1
        sizes[kind] += e.ByteSize()
    return {
        "events": len(hist.events),
        "workflow_tasks": kinds.get("workflow_task_completed", 0),
        "history_bytes": sum(e.ByteSize() for e in hist.events),
        "by_type": dict(sorted(kinds.items())),
        "bytes_by_type": dict(sorted(sizes.items())),
    }
