"""``python -m bench [--quick] [--json PATH]``: our flows against a hand-written Temporal baseline,
on one embedded server this process starts (and stops) itself. ``--long``: the cost of a step at the
start and the end of long runs (bench/long.py). ``--ops``: seconds per 1,000 steps of show, rerun and
replay on 1,000- and 6,000-step runs (bench/ops.py)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import scenarios  # noqa: E402
from bench.report import summary, table  # noqa: E402
from bench.server import bench_server  # noqa: E402


async def run(sizes: scenarios.Sizes, search_attributes: bool = True) -> scenarios.Results:
    from client.connection.connect import connect

    from bench import oneshot, stock

    res = scenarios.Results()
    async with bench_server(search_attributes=search_attributes) as (_, started, pid):
        res.server_start_s, res.server_pid = started, pid
        client = await connect()
        for name, step in (("latency", scenarios.latency), ("throughput", scenarios.throughput),
                           ("local steps", scenarios.local_steps), ("fan-out", scenarios.fanout),
                           ("embedded vs stock start-dev", stock.per_step),
                           ("one-shot scripts", oneshot.scripts)):
            print(f"… {name}", file=sys.stderr, flush=True, end="")
            t0 = time.perf_counter()
            await step(client, sizes, res)
            print(f" ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    return res


def _bytecode_cache() -> str | None:
    """Measure a normal install: the sandbox re-imports the workflow module for every run, and
    with PYTHONDONTWRITEBYTECODE it would recompile it from source each time. The cache goes to a
    temporary directory, never into the tree."""
    if not sys.dont_write_bytecode:
        return None
    sys.pycache_prefix = tempfile.mkdtemp(prefix="refinire-bench-pyc-")
    sys.dont_write_bytecode = False
    return sys.pycache_prefix


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a reduced run, about a minute")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON to PATH")
    parser.add_argument("--no-search-attributes", action="store_true",
                        help="a server without FlowName/FlowStep/FlowStatus: what the upserts cost")
    parser.add_argument("--long", action="store_true",
                        help="long loops: per-step latency, history bytes and RSS, first vs last steps")
    parser.add_argument("--iterations", type=int, default=10_000, help="--long: activity-loop iterations")
    parser.add_argument("--state-bytes", type=int, default=100_000, help="--long: shared_state size")
    parser.add_argument("--local-iterations", type=int, default=10_000, help="--long: local-loop iterations")
    parser.add_argument("--ops", action="store_true",
                        help="show/rerun/replay/runs on long runs: seconds per 1,000 steps, 1,000 vs 6,000 steps")
    parser.add_argument("--ops-steps", type=int, nargs="+", default=[1_000, 6_000], metavar="N",
                        help="--ops: the runs' lengths in steps")
    parser.add_argument("--ops-rounds", type=int, default=3, help="--ops: rounds per command (median)")
    parser.add_argument("--ops-budget", choices=["300", "default"], default="300",
                        help="--ops: continue as new at 300 events, or at Temporal's bar (about 4,000)")
    args = parser.parse_args(argv)
    if args.long:
        return _long(args)
    if args.ops:
        return _ops(args)
    sizes = scenarios.Sizes.quick() if args.quick else scenarios.Sizes()
    cache = _bytecode_cache()
    try:
        res = asyncio.run(run(sizes, not args.no_search_attributes))
    finally:
        if cache:
            shutil.rmtree(cache, ignore_errors=True)
    out: dict[str, Any] = summary(res, sizes, quick=args.quick, cpus=os.cpu_count())
    out["search_attributes"] = not args.no_search_attributes
    print(table(out))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


def _long(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from bench import long

    cache = _bytecode_cache()
    try:
        figs = asyncio.run(long.run_long(args.iterations, args.state_bytes, args.local_iterations))
    finally:
        if cache:
            shutil.rmtree(cache, ignore_errors=True)
    print(f"machine: {os.cpu_count()} CPUs; window: first and last {long.WINDOW} steps")
    print(long.report(figs))
    if args.json:
        Path(args.json).write_text(json.dumps([{**asdict(f), "latency_ratio": f.latency_ratio,
                                                "bytes_ratio": f.bytes_ratio} for f in figs], indent=2))
    return 0


def _ops(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from bench import ops

    cache = _bytecode_cache()
    try:
        figs = ops.main_ops(tuple(args.ops_steps), args.ops_rounds, args.ops_budget)
    finally:
        if cache:
            shutil.rmtree(cache, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps([{**asdict(f), "per_1000": {c: f.per_1000(c) for c in f.seconds}}
                                               for f in figs], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
