"""What a worker reports while it runs steps: console lines, OpenTelemetry spans, Prometheus metrics.

Console lines come from an activity interceptor, so a step prints when it really executes and
never again when a workflow replays its history (activities do not run on replay).
"""

from __future__ import annotations

import sys
import time
from typing import Any

from temporalio import activity
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from refinire import observability

from workflows.formats import DESCRIBE_ACTIVITY

from .labels import step_label

_QUIET = {DESCRIBE_ACTIVITY}


class _ConsoleActivity(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        if not observability.console_tracing_enabled() or info.activity_type in _QUIET:
            return await self.next.execute_activity(input)
        flow, step, kind = step_label(info, input.args[0] if input.args else None)
        attempt = f", attempt {info.attempt}" if info.attempt > 1 else ""
        _emit(f"▶ {flow} · {step} · {kind} started (run {info.workflow_id}{attempt})")
        began = time.monotonic()
        try:
            result = await self.next.execute_activity(input)
        except BaseException as exc:
            _emit(f"✗ {flow} · {step} · {kind} failed after {time.monotonic() - began:.2f}s: "
                  f"{type(exc).__name__}: {exc}")
            raise
        _emit(f"✓ {flow} · {step} · {kind} finished in {time.monotonic() - began:.2f}s")
        return result


def _emit(line: str) -> None:
    stream = observability.console_stream() or sys.stdout
    print(f"[refinire {time.strftime('%H:%M:%S')}] {line}", file=stream, flush=True)


class ConsoleTracing(Interceptor):
    """On every worker; prints only while console tracing is enabled, so a script may call
    ``enable_console_tracing()`` after its worker was built."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ConsoleActivity(next)


def worker_interceptors() -> list[Interceptor]:
    from .hooks import StepHooks

    found: list[Interceptor] = [ConsoleTracing(), StepHooks()]
    if observability.opentelemetry_enabled():
        from .otel import tracing_interceptors

        found = [*tracing_interceptors(), *found]  # outermost: a step's span holds its hooks
    return found


def install_metrics(port: int, host: str = "0.0.0.0") -> str:
    """Serve Prometheus metrics for every client and worker this process creates from now on (the
    core's log lines still go to Python logging, as ``connect()`` sets them)."""
    from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

    from client.connection.core_logs import logging_config

    address = f"{host}:{port}"
    runtime = Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=address),
                                                logging=logging_config()))
    Runtime.set_default(runtime, error_if_already_set=False)
    return address
