"""``python -m bench.cpu [ROUNDS]``: where a run's CPU goes, ours against the baseline.

For 1-, 3- and 10-step flows, ROUNDS runs of each (in turn, after warm-ups) on the bench's own
server, and per run: this process's CPU (worker and client), the server's, and the worker's parts
read from the SDK as it works: workflow activations (the interpreter in the sandbox, thread CPU),
creating the workflow instance (the sandbox loading the workflow's module), decoding activations
and encoding completions (payloads, each visit a call into the sandbox), the client's start, and
how many times the SDK ran code in the sandbox (``_run_code``: one ``exec`` each).

A measuring tool: it wraps private SDK functions (temporalio 1.35), so it may need updating with
the SDK. It changes nothing the workers do. Figures are CPU, not wall time: steadier on a busy
machine, though not immune to it.
"""

from __future__ import annotations

import asyncio
import functools
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import temporalio.bridge.worker as bridge_worker  # noqa: E402
import temporalio.worker._workflow as sdk_workflow  # noqa: E402
import temporalio.worker.workflow_sandbox._runner as sandbox_runner  # noqa: E402

from bench import flows, harness  # noqa: E402
from bench.server import bench_server, cpu_s  # noqa: E402

PARTS = ("activate", "create_instance", "decode_activation", "encode_completion", "client_start")
_acc: dict[str, float] = {}


def _timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    if asyncio.iscoroutinefunction(fn):
        @functools.wraps(fn)
        async def run_async(*a: Any, **k: Any) -> Any:
            t = time.thread_time()
            try:
                return await fn(*a, **k)
            finally:
                _acc[name] = _acc.get(name, 0.0) + time.thread_time() - t
        return run_async

    @functools.wraps(fn)
    def run(*a: Any, **k: Any) -> Any:
        t = time.thread_time()
        try:
            return fn(*a, **k)
        finally:
            _acc[name] = _acc.get(name, 0.0) + time.thread_time() - t
    return run


def _count(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def run(*a: Any, **k: Any) -> Any:
        _acc["sandbox_execs"] = _acc.get("sandbox_execs", 0.0) + 1
        return fn(*a, **k)
    return run


def instrument() -> None:
    sdk_workflow._RunningWorkflow.activate = _timed("activate", sdk_workflow._RunningWorkflow.activate)
    sdk_workflow._WorkflowWorker._create_workflow_instance = _timed(
        "create_instance", sdk_workflow._WorkflowWorker._create_workflow_instance)
    sdk_workflow.temporalio.bridge.worker.decode_activation = _timed(
        "decode_activation", bridge_worker.decode_activation)
    sdk_workflow.temporalio.bridge.worker.encode_completion = _timed(
        "encode_completion", bridge_worker.encode_completion)
    sandbox_runner._Instance._run_code = _count(sandbox_runner._Instance._run_code)
    harness.start_run = _timed("client_start", harness.start_run)
    harness.baseline_start = _timed("client_start", harness.baseline_start)


async def measure(rounds: int) -> dict[int, dict[str, dict[str, float]]]:
    from client.connection.connect import connect
    from client.serving.worker import build_worker

    out: dict[int, dict[str, dict[str, float]]] = {}
    async with bench_server() as (_, _, pid):
        client = await connect()
        for n in flows.STEP_COUNTS:
            flow = flows.chain(n)
            run = {"ours": lambda: harness.ours(client, flow), "baseline": lambda: harness.baseline(client, n)}
            out[n] = {}
            async with harness.running(build_worker(client, flow), harness.baseline_worker(client)):
                for _ in range(3):
                    for who in run:
                        await run[who]()
                for who in run:
                    _acc.clear()
                    p0, s0 = time.process_time(), cpu_s(pid)
                    for _ in range(rounds):
                        await run[who]()
                    figs = {"process": time.process_time() - p0, "server": cpu_s(pid) - s0, **_acc}
                    out[n][who] = {k: v / rounds for k, v in figs.items()}
    return out


def report(out: dict[int, dict[str, dict[str, float]]]) -> str:
    cols = ("process", "server", *PARTS)
    lines = ["CPU ms per run, ours / baseline (sandbox execs: count per run)"]
    lines.append("steps  " + "  ".join(f"{c:>17}" for c in cols) + "  sandbox execs")
    for n, by in out.items():
        o, b = by["ours"], by["baseline"]
        cells = [f"{o.get(c, 0) * 1e3:7.2f} /{b.get(c, 0) * 1e3:7.2f}" for c in cols]
        lines.append(f"{n:5d}  " + "  ".join(f"{c:>17}" for c in cells)
                     + f"  {o.get('sandbox_execs', 0):.0f} / {b.get('sandbox_execs', 0):.0f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from bench.__main__ import _bytecode_cache

    args = sys.argv[1:] if argv is None else argv
    rounds = int(args[0]) if args else 20
    _bytecode_cache()
    instrument()
    print(report(asyncio.run(measure(rounds))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
