"""Serve flows: ``python worker.py MODULE [MODULE ...]``.

Every module-level ``Flow`` in the named modules is served under a stable name, ``module:variable``
(or the Flow's explicit ``name=``), on its own task queue, so a run is only ever picked up by a
worker that knows its flow.

This module is the worker factory (``build_worker``, also used by ``flow.run``'s in-process worker,
rerun and replay through ``SANDBOX_RUNNER``); ``worker.py`` at the project root is the script.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import math
import os
import signal
import sys
from datetime import timedelta
from typing import Iterable, Sequence

from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.worker import Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.steps import ACTIVITIES
from client.connection.connect import connect, connect_timeout_s
from client.connection.embedded import port_argument
from client.connection.undecodable import DecodeAwareRunner
from refinire import observability, registry
from refinire.flow import Flow
from workflows.refinire_flow import WORKFLOWS
from workflows.io import task_queue_for

from .contexts import ContextFreeRunner, needs_contexts
from .logs import configure
from .telemetry import install_metrics, worker_interceptors

__all__ = ["SANDBOX_RUNNER", "STRICT_RUNNER", "build_worker", "flows_in_modules", "main", "runner_for", "serve"]

# refinire holds the registry the workflow reads callables from: it must be the process's own copy.
# The workflow's helper modules are passed through too: the sandbox otherwise re-imports them for
# every run (``from . import agents`` escapes imports_passed_through), rebuilding their pydantic
# models each time, which cost about 10% of a short run's latency (see docs/benchmarks.md).
# DecodeAwareRunner: a payload the worker cannot decode fails the run, not its task forever.
_PASSTHROUGH = (
    "refinire", "pydantic", "pydantic_core",
    "workflows.agents", "workflows.agent_io", "workflows.delta", "workflows.formats", "workflows.io",
    "workflows.limits", "workflows.parallel", "workflows.runtime", "workflows.search",
    "workflows.start", "workflows.step_input", "workflows.values", "workflows.waits",
)
STRICT_RUNNER = DecodeAwareRunner(SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules(*_PASSTHROUGH)))
"""The interpreter (``workflows.flow_workflow``, ``workflows.refinire_flow``) imported anew in the
sandbox for every run, so the sandbox checks its code: replays use it (``refinire-flow replay``, the
replay corpus in CI), and any non-deterministic call in the interpreter fails them."""
SANDBOX_RUNNER = DecodeAwareRunner(SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules(*_PASSTHROUGH, "workflows")))
"""What workers run: the interpreter trusted, passed through like its helpers. Loading it in the
sandbox cost every run about 1–3 ms (executing the module and decorating the workflow class anew),
a tenth of a one-step run; its code is still checked by every replay under ``STRICT_RUNNER``.
The flows' own modules (conditions) are the worker's, unsandboxed, under either runner."""
_CONTEXT_FREE = {False: ContextFreeRunner(SANDBOX_RUNNER), True: ContextFreeRunner(STRICT_RUNNER)}


def runner_for(converter: DataConverter, *, strict: bool = False) -> WorkflowRunner:
    """``SANDBOX_RUNNER`` (``STRICT_RUNNER`` when ``strict``), answering the SDK's serialization-context
    questions without entering the sandbox when ``converter`` reads none (``contexts``)."""
    runner = STRICT_RUNNER if strict else SANDBOX_RUNNER
    return runner if needs_contexts(converter) else _CONTEXT_FREE[strict]


def _extra_activities() -> list:
    try:
        from activities.llm import ACTIVITIES as llm
    except ImportError:
        return []
    return list(llm)


def build_worker(client: Client, flow: Flow, *, max_cached_workflows: int = 1000,
                 sticky_timeout_s: float = 3.0, as_name: str | None = None, **kwargs) -> Worker:
    """A Worker for one flow: the interpreter workflow plus every step activity.

    ``as_name`` serves the flow under another durable name too (a run started under a name the flow
    had in an earlier version of the code, attached to again)."""
    name = flow.register()
    if as_name is not None:
        name = registry.register(as_name, flow)
    interceptors = [*worker_interceptors(), *kwargs.pop("interceptors", ())]
    return Worker(
        client,
        task_queue=task_queue_for(name),
        workflows=WORKFLOWS,
        activities=[*ACTIVITIES, *_extra_activities()],
        workflow_runner=runner_for(client.data_converter),
        max_cached_workflows=max_cached_workflows,
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=sticky_timeout_s),
        graceful_shutdown_timeout=timedelta(seconds=kwargs.pop("graceful_shutdown_s", 0)),
        interceptors=interceptors,
        **kwargs,
    )


def flows_in_modules(modules: Iterable[str]) -> dict[str, Flow]:
    """Import modules and name their module-level flows ``module:variable`` unless named."""
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    found: dict[str, Flow] = {}
    for mod_name in modules:
        module = importlib.import_module(mod_name)
        for var, value in vars(module).items():
            if isinstance(value, Flow):
                if not value.name:
                    value.name = f"{mod_name}:{var}"  # its spec is compiled under this name from now on
                if value.durable_name in found and found[value.durable_name] is not value:
                    raise SystemExit(f"Two flows are named {value.durable_name!r}; give one another name=.")
                found[value.durable_name] = value
    if not found:
        raise SystemExit(f"No module-level Flow found in {list(modules)!r}.")
    return found


async def serve(modules: Sequence[str], client: Client | None = None, *,
                graceful_shutdown_s: float = 30.0) -> None:
    """Serve until SIGTERM or SIGINT, then stop polling and let running steps finish (up to
    ``graceful_shutdown_s``) so a deploy or ``docker stop`` does not re-run them elsewhere."""
    client = client or await connect()
    flows = flows_in_modules(modules)
    workers = [build_worker(client, flow, graceful_shutdown_s=graceful_shutdown_s)
               for flow in flows.values()]
    for name in flows:
        print(f"serving {name!r} on task queue {task_queue_for(name)!r}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    running = asyncio.gather(*(w.run() for w in workers))
    waiter = asyncio.ensure_future(stop.wait())
    await asyncio.wait({running, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if running.done():
        waiter.cancel()
        await running  # a worker failed: raise its error
        return
    print(f"stopping: finishing running steps (up to {graceful_shutdown_s:g} s)", flush=True)
    await asyncio.gather(*(w.shutdown() for w in workers))
    await running


def _grace_seconds(text: str) -> float:
    """An argparse ``type`` for ``--graceful-shutdown``: finite seconds from 0 to a day."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 <= value <= 86400:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time to wait: use seconds from 0 to 86400 "
                                         "(0 stops at once; default 30)")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("modules", nargs="*", metavar="MODULE",
                        help="modules whose module-level flows to serve (default: $REFINIRE_FLOW_MODULES)")
    parser.add_argument("--metrics-port", type=port_argument, metavar="PORT",
                        help="serve Prometheus metrics on this port (/metrics)")
    parser.add_argument("--console-tracing", action="store_true",
                        help="print one line per step start and finish")
    parser.add_argument("--graceful-shutdown", type=_grace_seconds, default=30.0, metavar="SECONDS",
                        help="on SIGTERM/SIGINT, how long running steps may take to finish (default 30)")
    parser.add_argument("--log-level", choices=["debug", "info", "warn", "error"], default=None,
                        help="one line per failed step attempt at info/warn; tracebacks at debug "
                             "(default: $REFINIRE_LOG_LEVEL, else info)")
    parser.add_argument("--otel", action="store_true",
                        help="OpenTelemetry spans through temporalio's TracingInterceptor (needs [otel])")


def modules_from(args: argparse.Namespace) -> list[str]:
    modules = list(args.modules) or os.environ.get("REFINIRE_FLOW_MODULES", "").replace(",", " ").split()
    if not modules:
        raise SystemExit("No modules to serve: name them (worker MODULE ...) or set REFINIRE_FLOW_MODULES.")
    return modules


def prepare(args: argparse.Namespace) -> list[str]:
    """Telemetry settings must be in place before the first client connects."""
    try:
        configure(getattr(args, "log_level", None))
        connect_timeout_s()  # a bad setting is said before anything starts, naming the variable
    except ValueError as exc:
        raise SystemExit(str(exc)) from None

    if args.metrics_port:
        print(f"metrics on http://{install_metrics(args.metrics_port)}/metrics", flush=True)
    if args.console_tracing:
        observability.enable_console_tracing()
    if args.otel:
        from .otel import no_provider_warning

        observability.enable_opentelemetry()
        if warning := no_provider_warning():
            print(warning, file=sys.stderr, flush=True)
    return modules_from(args)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="worker.py", description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    modules = prepare(args)
    try:
        asyncio.run(serve(modules, graceful_shutdown_s=args.graceful_shutdown))
    except KeyboardInterrupt:
        pass

