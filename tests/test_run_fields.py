"""A step reads the run's trace id, start time, step name and count though its input leaves them
out (format 3): from the worker's note of the run, or from the run's start event when the note is
missing (another worker process interprets the run)."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from datetime import datetime

from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError

from refinire import Context, Flow, FunctionStep
from workflows.step_input import RUN_FIELDS_SEEN


def forget(data, ctx):
    RUN_FIELDS_SEEN.clear()  # as on a worker that does not interpret this run
    return data


def look(data, ctx):
    return {"trace": ctx.trace_id, "start": ctx.start_time.isoformat(), "step": ctx.current_step,
            "count": ctx.step_count, "data": data}


def retrace(data, ctx):
    ctx.trace_id = "changed-by-a-step"
    return data


def flow_of(name: str, *steps, **kw) -> Flow:
    return Flow(steps=list(steps), name=name, **kw)


async def test_a_step_reads_the_run_fields_from_the_start_event_when_its_worker_has_no_note():
    flow = flow_of("run_fields_forgotten", FunctionStep("forget", forget), FunctionStep("look", look))
    ctx = Context(start_time=datetime(2026, 1, 2, 3, 4, 5))
    result = await flow.run("x", ctx)
    assert result.result == {"trace": flow.trace_id, "start": "2026-01-02T03:04:05", "step": "look",
                             "count": 1, "data": "x"}
    assert (result.trace_id, ctx.start_time, ctx.step_count, ctx.finished) == (
        flow.trace_id, datetime(2026, 1, 2, 3, 4, 5), 2, True)


async def test_an_explicit_trace_id_and_one_a_step_changed_reach_the_steps_and_the_result():
    flow = flow_of("run_fields_explicit", FunctionStep("look", look), FunctionStep("retrace", retrace),
                   FunctionStep("look_again", look), trace_id="my-trace")
    result = await flow.run(1)
    assert result.result["trace"] == "changed-by-a-step"
    assert result.result["step"] == "look_again" and result.result["count"] == 2
    assert result.trace_id == "changed-by-a-step"
    assert result.shared_state == {}


RELEASE = threading.Event()


def held(data, ctx):
    if not RELEASE.wait(60):
        raise TimeoutError("the test never released the step")
    return look(data, ctx)


async def test_the_starter_and_one_attaching_to_the_running_run_read_the_same_run_fields(client):
    """The process that started a run knows its fields; a start that attaches by id to the run in
    flight reads them from its start event, never from the context it would have started with."""
    flow = flow_of("run_fields_attach", FunctionStep("held", held))
    run_id = f"run-fields-attach-{uuid.uuid4().hex[:8]}"
    RELEASE.clear()
    first = asyncio.create_task(flow.run("x", Context(start_time=datetime(2026, 1, 2, 3, 4, 5)), run_id=run_id))
    deadline = time.monotonic() + 30
    while True:
        try:
            if (await client.get_workflow_handle(run_id).describe()).status == WorkflowExecutionStatus.RUNNING:
                break
        except RPCError:
            pass
        assert time.monotonic() < deadline, f"run {run_id!r} never started"
        await asyncio.sleep(0.05)
    second = asyncio.create_task(flow.run("y", Context(start_time=datetime(2030, 6, 7)), run_id=run_id))
    RELEASE.set()
    one, two = await first, await second
    assert two.result == one.result and one.result["start"] == "2026-01-02T03:04:05"
    assert (one.start_time, two.start_time) == (datetime(2026, 1, 2, 3, 4, 5),) * 2
    assert one.trace_id == two.trace_id
