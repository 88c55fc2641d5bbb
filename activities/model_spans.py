"""An OpenTelemetry span per model call, with its token counts, when tracing is on.

Named and attributed as OpenTelemetry's GenAI conventions say (``chat <model>``,
``gen_ai.operation.name``, ``gen_ai.request.model``, ``gen_ai.response.model``,
``gen_ai.usage.input_tokens``, ``gen_ai.usage.output_tokens``), plus ``gen_ai.usage.total_tokens``
and the step it belongs to (``refinire.flow``, ``refinire.step``, ``refinire.call``,
``refinire.generation``). On a worker it is a child of the step attempt's span
(``client/serving/otel.py``). With tracing off, or without the ``otel`` extra, it costs nothing.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

__all__ = ["model_call_span", "record_usage"]


@contextlib.contextmanager
def model_call_span(call: Any) -> Iterator[Any]:
    """Yield a span for one model call (``None`` when tracing is off); the caller sets the usage
    with ``record_usage``. An exception ends the span with status ERROR."""
    try:
        from opentelemetry import trace
    except ImportError:  # the worker said so when it was built; a call never fails for it
        yield None
        return
    # Tracing is on for this call when the worker's interceptor opened the step attempt's span
    # (activities do not read the client-side switch in refinire.observability).
    if not trace.get_current_span().is_recording():
        yield None
        return
    tracer = trace.get_tracer("refinire")
    attributes = {
        "gen_ai.operation.name": "chat", "gen_ai.system": "openai", "gen_ai.request.model": call.model,
        "refinire.flow": call.flow_name, "refinire.step": call.step, "refinire.call": call.kind,
        "refinire.generation": call.attempt,
    }
    with tracer.start_as_current_span(f"chat {call.model}", kind=trace.SpanKind.CLIENT,
                                      attributes=attributes) as span:
        yield span


def record_usage(span: Any, usage: Any) -> None:
    """Put a call's ``Usage`` (model, prompt/completion/total tokens) on its span."""
    if span is None:
        return
    span.set_attributes({
        "gen_ai.response.model": usage.model, "gen_ai.usage.input_tokens": usage.prompt_tokens,
        "gen_ai.usage.output_tokens": usage.completion_tokens,
        "gen_ai.usage.total_tokens": usage.total_tokens,
    })
