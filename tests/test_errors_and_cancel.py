"""What a failure hands back, and what a cancel is.

The error handler (and ``FlowExecutionError.cause``) get the step's own exception class, with its
args and attributes; a cancelled run ends CANCELED, its running step is cancelled, and the error
handler is never called for it.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid

import pytest
from temporalio.client import WorkflowExecutionStatus

from client.history.trace import load_trace
from client.running.start import start_run, wait_result
from client.history.listing import list_runs
from refinire import (
    Flow,
    FlowCancelled,
    FlowExecutionError,
    FunctionStep,
    NonRetryableError,
    RetrySpec,
    StepError,
)
from refinire.errors import rebuild_exception
from client.serving.worker import build_worker

ONCE = RetrySpec(max_attempts=1)


class QuotaExceeded(Exception):
    def __init__(self, message: str, retry_in: float) -> None:
        super().__init__(message)
        self.retry_in = retry_in


class BadRecord(NonRetryableError):
    pass


async def test_the_error_handler_gets_the_users_own_exception_with_its_attributes():
    seen: list[BaseException] = []

    def handler(err, ctx):
        seen.append(err)
        ctx.shared_state["retry_in"] = err.retry_in if isinstance(err, QuotaExceeded) else None
        return "fallback"

    def call_api(data, ctx):
        raise QuotaExceeded("quota used up", retry_in=30.5)

    flow = Flow({
        "call": FunctionStep("call", call_api, retry=ONCE),
        "fallback": FunctionStep("fallback", lambda d, c: f"later ({c.shared_state['retry_in']} s)"),
    }, name="errors_user_class")
    flow.set_error_handler(handler)
    assert await flow.run("x") == "later (30.5 s)"
    err = seen[-1]
    assert type(err) is QuotaExceeded and err.retry_in == 30.5 and str(err) == "quota used up"


async def test_a_non_retryable_subclass_is_still_a_non_retryable_error():
    kinds: list[tuple[bool, bool]] = []

    def handler(err, ctx):
        kinds.append((isinstance(err, BadRecord), isinstance(err, NonRetryableError)))
        return "skip"

    def parse(data, ctx):
        raise BadRecord("row 7 has no id")

    flow = Flow({"parse": FunctionStep("parse", parse),
                 "skip": FunctionStep("skip", lambda d, c: "skipped")}, name="errors_nonretryable")
    flow.set_error_handler(handler)
    assert await flow.run("x") == "skipped"
    assert kinds == [(True, True)]


async def test_a_failed_run_carries_the_users_exception_as_its_cause():
    def call_api(data, ctx):
        raise QuotaExceeded("quota used up", retry_in=12)

    flow = Flow(steps=[FunctionStep("call", call_api, retry=ONCE)], name="errors_cause")
    with pytest.raises(FlowExecutionError) as info:
        await flow.run("x")
    cause = info.value.cause
    assert type(cause) is QuotaExceeded and cause.retry_in == 12
    assert info.value.__cause__ is cause


def test_an_exception_class_this_process_lacks_comes_back_as_a_documented_stand_in():
    facts = {"module": "billing.errors", "qualname": "QuotaExceeded", "name": "QuotaExceeded",
             "message": "quota used up", "args": ["quota used up"], "attrs": {"retry_in": 3},
             "non_retryable": True}
    err = rebuild_exception(facts, "QuotaExceeded", "quota used up")
    assert isinstance(err, StepError) and isinstance(err, NonRetryableError)
    assert type(err).__name__ == "QuotaExceeded" and type(err).__module__ == "billing.errors"
    assert (err.type_name, err.module, err.message, err.retry_in) == (
        "QuotaExceeded", "billing.errors", "quota used up", 3)
    assert str(err) == "quota used up"


# Cancellation --------------------------------------------------------------------------------

def _rid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def _until(predicate, what: str, deadline_s: float = 30.0) -> None:
    end = time.monotonic() + deadline_s
    while not predicate():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def test_cancel_during_an_async_step_ends_the_run_canceled_and_stops_the_step(client, capsys):
    events: list[str] = []
    handled: list[str] = []

    async def slow(data, ctx):
        events.append("started")
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            events.append("cancelled")
            raise
        events.append("finished")
        return data

    flow = Flow({
        "slow": FunctionStep("slow", slow, heartbeat=1),
        "fallback": FunctionStep("fallback", lambda d, c: "fell back"),
    }, name="cancel_async")
    flow.set_error_handler(lambda err, ctx: handled.append(type(err).__name__) or "fallback")
    run_id = _rid("cancel-async")
    async with build_worker(client, flow):
        handle = await start_run(client, flow.durable_name, flow, "x", None, run_id)
        await _until(lambda: "started" in events, "the step to start")
        await handle.cancel()
        with pytest.raises(FlowCancelled) as info:
            await wait_result(handle, flow.durable_name)
        await _until(lambda: "cancelled" in events, "the step's coroutine to be cancelled")
    assert "finished" not in events and handled == []  # the handler is never called for a cancel
    assert "was cancelled" in str(info.value) and isinstance(info.value, FlowExecutionError)
    desc = await client.get_workflow_handle(run_id).describe()
    assert desc.status == WorkflowExecutionStatus.CANCELED
    trace = await load_trace(client, run_id)
    assert trace.status == "Canceled"
    rows = await list_runs(client, flow=flow.durable_name)
    assert [r.status for r in rows if r.run_id == run_id] == ["canceled"]


async def test_cancel_during_a_sync_step_discards_its_result(client):
    release = threading.Event()
    ran: list[str] = []

    def blocking(data, ctx):
        ran.append("started")
        release.wait(30)
        ran.append("returned")
        return "late result"

    flow = Flow(steps=[FunctionStep("blocking", blocking, heartbeat=1),
                       FunctionStep("after", lambda d, c: ran.append("after") or d)], name="cancel_sync")
    run_id = _rid("cancel-sync")
    try:
        async with build_worker(client, flow):
            handle = await start_run(client, flow.durable_name, flow, "x", None, run_id)
            await _until(lambda: "started" in ran, "the step to start")
            await handle.cancel()
            with pytest.raises(FlowCancelled):
                await wait_result(handle, flow.durable_name)
    finally:
        release.set()
    desc = await client.get_workflow_handle(run_id).describe()
    assert desc.status == WorkflowExecutionStatus.CANCELED
    assert "after" not in ran


async def test_flow_run_raises_flow_cancelled_when_the_run_is_cancelled(client):
    started = asyncio.Event()

    async def wait_forever(data, ctx):
        started.set()
        await asyncio.sleep(60)

    flow = Flow(steps=[FunctionStep("wait", wait_forever, heartbeat=1)], name="cancel_flow_run")
    task = asyncio.create_task(flow.run("x"))
    await asyncio.wait_for(started.wait(), 30)
    await client.get_workflow_handle(flow.last_run_id).cancel()
    with pytest.raises(FlowCancelled):
        await task


async def test_cancel_with_no_worker_says_the_run_ends_when_one_runs(client, capsys):
    from client.operations import cli

    flow = Flow(steps=[FunctionStep("idle", lambda d, c: d)], name="cancel_no_worker")
    run_id = _rid("cancel-none")
    await start_run(client, flow.durable_name, flow, "x", None, run_id)  # no worker serves it
    assert await cli.amain(["cancel", run_id]) == 0
    out, err = capsys.readouterr()
    assert f"cancel requested for run {run_id}" in out
    assert "no worker polls 'refinire.cancel_no_worker' now: the run ends CANCELED once" in err
    async with build_worker(client, flow):
        with pytest.raises(FlowCancelled):
            await wait_result(client.get_workflow_handle(run_id), flow.durable_name)


async def test_a_value_that_contains_itself_fails_once_naming_it():
    attempts: list[int] = []

    def loop(data, ctx):
        attempts.append(1)
        items: list = [1]
        items.append(items)
        ctx.shared_state["items"] = items
        return data

    flow = Flow(steps=[FunctionStep("loop", loop)], name="errors_self_reference")
    with pytest.raises(FlowExecutionError) as err:
        await flow.run("x")
    assert "contains itself" in str(err.value) and "shared_state['items']" in str(err.value)
    assert attempts == [1]
