"""OpenTelemetry, tested: spans collected in memory from real runs on the session's dev server.

One span per step attempt, named after the step, carrying the flow, the run id and the attempt,
inside temporalio's ``RunActivity`` span and in the run's one trace; and the agents' model-call
spans (``chat <model>``) with the token counts the OpenAI-speaking test server returned.
Needs the ``otel`` extra, which ``scripts/test`` installs.
"""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from refinire import ConditionStep, Flow, FunctionStep, RefinireAgent, RetrySpec, observability
from workflows.formats import RUN_STEP_ACTIVITY_3

FAST = RetrySpec(max_attempts=3, initial_interval_s=0.05)


@pytest.fixture(scope="module")
def exporter() -> InMemorySpanExporter:
    """The process's tracer provider, with an in-memory exporter (a provider is set only once)."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    found = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(found))
    return found


@pytest.fixture
def spans(exporter: InMemorySpanExporter):
    exporter.clear()
    observability.enable_opentelemetry()
    try:
        yield lambda run_id: _of_run(exporter.get_finished_spans(), run_id)
    finally:
        observability.disable_opentelemetry()


def _of_run(found: tuple[ReadableSpan, ...], run_id: str) -> list[ReadableSpan]:
    """Every span in the trace of the run's step spans."""
    traces = {s.context.trace_id for s in found if (s.attributes or {}).get("refinire.run_id") == run_id}
    return sorted((s for s in found if s.context.trace_id in traces), key=lambda s: s.start_time or 0)


def _steps(found: list[ReadableSpan]) -> list[ReadableSpan]:
    return [s for s in found if "refinire.attempt" in (s.attributes or {})]


async def test_one_span_per_step_attempt_named_after_the_step(spans):
    calls: list[str] = []

    def flaky(data, ctx):
        calls.append(data)
        if len(calls) == 1:
            raise ConnectionError("the service blinked")
        return f"fetched {data}"

    flow = Flow({
        "fetch": FunctionStep("fetch", flaky),
        "check": ConditionStep("check", lambda ctx: True, "publish", "publish"),
        "publish": FunctionStep("publish", lambda data, ctx: data.upper()),
    }, retry=FAST)
    result = await flow.run("page")
    assert str(result) == "FETCHED PAGE"

    found = spans(result.run_id)
    steps = _steps(found)
    assert [(s.name, s.attributes["refinire.attempt"]) for s in steps] == [
        ("fetch", 1), ("fetch", 2), ("publish", 1)]
    for s in steps:
        assert s.attributes["refinire.flow"] == flow.durable_name
        assert s.attributes["refinire.run_id"] == result.run_id
        assert s.attributes["refinire.step_kind"] == "function"
    first, second, publish = steps
    assert first.status.status_code is StatusCode.ERROR
    assert "ConnectionError" in (first.status.description or "") or any(
        "ConnectionError" in str(e.attributes) for e in first.events)
    assert second.status.status_code is not StatusCode.ERROR
    assert publish.attributes["refinire.activity_id"].startswith("publish#")

    # Each step span sits inside temporalio's RunActivity span, all in the run's one trace.
    by_id = {s.context.span_id: s for s in found}
    for s in steps:
        assert s.parent is not None and by_id[s.parent.span_id].name == f"RunActivity:{RUN_STEP_ACTIVITY_3}"
    assert len({s.context.trace_id for s in found}) == 1, [
        (s.name, hex(s.context.trace_id)[-6:], s.parent and hex(s.parent.span_id), hex(s.context.span_id)) for s in found]
    assert any(s.name.startswith("RunWorkflow:") for s in found)
    # The condition runs inside the workflow: a decision, not an attempt.
    assert "check" not in {s.name for s in steps}


async def test_agent_model_calls_are_spans_with_token_counts(spans, llm):
    llm.script("draft one", {"score": 40, "feedback": "add a season word"},
               "draft two", {"score": 90, "feedback": "good"})
    agent = RefinireAgent("poet", "Write a haiku", "Score the haiku", model="m-test", threshold=80,
                          max_retries=2)
    flow = Flow(steps=agent, retry=FAST)
    result = await flow.run("autumn")
    assert str(result) == "draft two"

    found = spans(result.run_id)
    steps = _steps(found)
    assert [(s.name, s.attributes["refinire.call"]) for s in steps] == [
        ("poet", "generate"), ("poet", "evaluate"), ("poet", "generate"), ("poet", "evaluate")]
    assert all(s.attributes["refinire.run_id"] == result.run_id for s in steps)

    calls = [s for s in found if s.name == "chat m-test"]
    assert len(calls) == 4
    by_id = {s.context.span_id: s for s in found}
    assert [by_id[c.parent.span_id] for c in calls] == steps  # each call inside its step's attempt
    usage = result.usage
    assert [(c.attributes["refinire.call"], c.attributes["refinire.generation"]) for c in calls] == [
        (u["kind"], u["attempt"]) for u in usage]
    for c, u in zip(calls, usage):
        assert c.attributes["gen_ai.request.model"] == "m-test"
        assert c.attributes["gen_ai.response.model"] == u["model"]
        assert c.attributes["gen_ai.usage.input_tokens"] == u["prompt_tokens"] > 0
        assert c.attributes["gen_ai.usage.output_tokens"] == u["completion_tokens"] > 0
        assert c.attributes["gen_ai.usage.total_tokens"] == u["total_tokens"]
        assert c.attributes["refinire.step"] == "poet"


async def test_tracing_off_emits_no_step_spans(exporter):
    exporter.clear()
    flow = Flow(steps=[FunctionStep("quiet", lambda data, ctx: data)])
    result = await flow.run("x")
    assert str(result) == "x"
    assert not [s for s in exporter.get_finished_spans()
                if (s.attributes or {}).get("refinire.run_id") == result.run_id]
