"""OpenTelemetry for workers: temporalio's tracing, plus one span per step attempt named after the step.

temporalio's ``TracingInterceptor`` traces the run (``RunWorkflow:…``, ``StartActivity:…``,
``RunActivity:refinire.run_step``) and carries the trace from the workflow into every activity, so
a run is one trace. Its names are Temporal's; an operator looks for steps. Inside each
``RunActivity`` span, ``StepSpans`` opens a span named after the step (``fetch``; a parallel branch
is ``block/branch``) for every attempt, with these attributes:

``refinire.flow``, ``refinire.run_id`` (the workflow id), ``refinire.step``, ``refinire.step_key``,
``refinire.step_kind`` (function, agent, router, ...), ``refinire.attempt`` (Temporal's attempt,
1-based), ``refinire.activity_id`` and, for model calls, ``refinire.call`` (generate, evaluate,
route, clarify). A failed attempt's span has status ERROR and the exception recorded. Model calls
add their own spans inside (``activities/model_spans.py``) with the token counts.

Activities run only when a step really executes, never on replay, so a replay emits no step span.
Needs the ``otel`` extra (``pip install '.[otel]'``); turned on by
``refinire.observability.enable_opentelemetry()`` or ``refinire-flow worker --otel``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from temporalio import activity, workflow
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from refinire.errors import FlowExecutionError

from .labels import step_label

__all__ = ["StepSpans", "no_provider_warning", "tracing_interceptors"]

TRACER_NAME = "refinire"
_NOT_STEPS = {"refinire.describe_flow", "refinire.checkpoint"}
"""Bookkeeping activities: they run no step."""


def _call_kind(activity_type: str) -> str | None:
    """``refinire.llm.generate`` -> ``generate``; ``None`` for activities that call no model."""
    return activity_type.removeprefix("refinire.llm.") if activity_type.startswith("refinire.llm.") else None


class _StepSpan(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        from opentelemetry import trace

        info = activity.info()
        if info.activity_type in _NOT_STEPS:
            return await self.next.execute_activity(input)
        arg = input.args[0] if input.args else None
        flow, step, kind = step_label(info, arg)
        call = getattr(arg, "call", None)  # a model call knows its flow and step by name
        if call is not None:
            flow, step = call.flow_name, call.step
        key = info.activity_id.rsplit("#", 1)[0].partition("/")[0]
        attributes: dict[str, Any] = {
            "refinire.flow": flow, "refinire.run_id": info.workflow_id or "", "refinire.step": step,
            "refinire.step_key": key, "refinire.step_kind": kind, "refinire.attempt": info.attempt,
            "refinire.activity_id": info.activity_id,
        }
        if (model_call := _call_kind(info.activity_type)) is not None:
            attributes["refinire.call"] = model_call
        tracer = trace.get_tracer(TRACER_NAME)
        with tracer.start_as_current_span(step, kind=trace.SpanKind.INTERNAL, attributes=attributes,
                                          record_exception=True, set_status_on_exception=True):
            return await self.next.execute_activity(input)


class StepSpans(Interceptor):
    """One span per step attempt, named after the step (see the module's docstring)."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _StepSpan(next)


def no_provider_warning() -> str | None:
    """What to tell a worker started with ``--otel`` when the process has no tracer provider (its
    spans would go nowhere), else ``None``."""
    try:
        from opentelemetry import trace
    except ImportError:
        return None  # building the worker says how to install the extra
    if type(trace.get_tracer_provider()).__name__ not in ("ProxyTracerProvider", "NoOpTracerProvider"):
        return None
    return ("warning: --otel: no OpenTelemetry tracer provider is configured in this process, so spans "
            "go nowhere. Start the worker under `opentelemetry-instrument` (pip install "
            "opentelemetry-distro opentelemetry-exporter-otlp) or set a provider in code.")


def _run_carrier() -> dict[str, str]:
    """A W3C ``traceparent`` for a run, the same on every worker and replay: trace id and parent
    span id derived from the workflow id and the chain's first run (continue-as-new keeps it)."""
    info = workflow.info()
    digest = hashlib.sha256(f"refinire-run:{info.workflow_id}:{info.first_execution_run_id}".encode()).hexdigest()
    return {"traceparent": f"00-{digest[:32]}-{digest[32:48]}-01"}


def tracing_interceptors() -> list[Interceptor]:
    """temporalio's ``TracingInterceptor`` (outermost, so step spans are its children) and ours.

    temporalio makes workflow spans only under a client's span (a run started by a traced client);
    a run started by anything else would scatter its activities over one trace each. So a run that
    arrives without one gets a parent derived from its id: every span of a run shares one trace,
    across workers, replays and continue-as-new.

    Raises:
        FlowExecutionError: the ``otel`` extra is not installed, saying how to install it.
    """
    try:
        from temporalio.contrib.opentelemetry import TracingInterceptor, TracingWorkflowInboundInterceptor
    except ImportError:
        raise FlowExecutionError(
            "OpenTelemetry tracing is enabled but not installed: pip install 'refinire-flow[otel]' "
            "(or pip install .[otel] in the project).") from None

    class RunTraceWorkflow(TracingWorkflowInboundInterceptor):
        # temporalio's documented way to customise: subclass both interceptors. The carrier method
        # is the one that reads the client's span from the run's headers.
        def _load_workflow_context_carrier(self) -> Any:
            carrier = super()._load_workflow_context_carrier()
            if not carrier:
                carrier = self._workflow_context_carrier = _run_carrier()
            return carrier

    class RunTracing(TracingInterceptor):
        def workflow_interceptor_class(self, input: Any) -> type[TracingWorkflowInboundInterceptor]:
            super().workflow_interceptor_class(input)
            return RunTraceWorkflow

    return [RunTracing(), StepSpans()]
