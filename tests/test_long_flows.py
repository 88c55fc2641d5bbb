"""Long flows: thousands of steps across continue-as-new, and runs that fail instead of hanging.

A long run is a chain of Temporal runs under one workflow id. Everything that reads a run must
see the whole chain: the result, ``show``, ``rerun --from``, ``replay``, ``answer``.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from pathlib import Path

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.worker import Replayer

import procs
from client.operations import cli
from client.history.chain import fetch_chain
from client.history.reader import read_run
from client.history.steps import context_before, step_events
from client.connection.codec import data_converter
from client.history.trace import load_trace
from client.running.start import start_run
from flows import long
from refinire import ConditionStep, Flow, FlowExecutionError, FunctionStep
from workflows.refinire_flow import WORKFLOWS
from client.serving.worker import SANDBOX_RUNNER, build_worker


def rid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "work.log"
    monkeypatch.setenv("REFINIRE_TEST_LOG", str(path))
    return path


def iterations(log: Path) -> list[int]:
    return [int(line.split()[1]) for line in procs.lines(log) if line.startswith("work ")]


async def test_a_thousand_iteration_loop_crosses_continuations_and_reads_as_one_run(client, log, capsys):
    """2,002 steps with 4 KB of state, about 50 steps per Temporal run."""
    n = 1000
    flow = long.long_loop
    run_id = rid("long")
    async with build_worker(client, flow):
        handle = await start_run(client, flow.durable_name, flow, str(n), None, run_id)
        outcome = await handle.result()
    assert outcome.output == f"done {n} of {n} with {long.STATE_BYTES} bytes"
    assert iterations(log) == list(range(1, n + 1))  # every iteration once, in order

    chain = await fetch_chain(client, run_id)
    assert len(chain) >= 20, "the budget of 300 events should have split the run many times"
    for history in chain:  # each Temporal run stays small, whatever the run's length
        assert len(history.events) <= 400

    trace = await load_trace(client, run_id)
    assert trace.status == "Completed" and trace.continuations == len(chain) - 1
    assert trace.path == ["setup"] + ["work", "more"] * n + ["done"]

    assert await cli.amain(["replay", run_id, "--module", "flows.long"]) == 0
    assert "1 of 1 runs replay with the current code" in capsys.readouterr().out
    replayer = Replayer(workflows=WORKFLOWS, workflow_runner=SANDBOX_RUNNER, data_converter=data_converter())
    for history in chain:  # and Temporal's own Replayer agrees, run by run
        await replayer.replay_workflow(history)

    # Rerun from a step that ran in the last continuation: the context recorded before it is exact.
    log.unlink()
    assert await cli.amain(["rerun", run_id, "--from", "work", "--module", "flows.long"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"done {n} of {n} with {long.STATE_BYTES} bytes"
    assert iterations(log) == [n]

    # A condition records no input: its context is rebuilt from the last continuation's start, and
    # agrees with the exact input the step after it recorded.
    record = await read_run(client, run_id)
    before_more = context_before(record, "more")
    done_input = next(e.context for e in step_events(record) if e.kind == "activity" and e.step_key == "done")
    assert (before_more.result, before_more.step_count) == (n, 2 * n)
    assert before_more.shared_state == done_input.shared_state and before_more.shared_state["i"] == n
    log.unlink()
    assert await cli.amain(["rerun", run_id, "--from", "more", "--module", "flows.long"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"done {n} of {n} with {long.STATE_BYTES} bytes"
    assert iterations(log) == []


async def test_the_result_of_a_long_run_answers_for_the_whole_run(log):
    result = await long.long_loop.run("120")
    assert result == f"done 120 of 120 with {long.STATE_BYTES} bytes"
    assert len(result.context.span_history) < 242  # the last Temporal run's own ledger
    assert [s["step_name"] for s in result.span_history] == ["setup"] + ["work", "more"] * 120 + ["done"]
    assert result.step_count == 242
    assert result.shared_state["seen"] == [116, 117, 118, 119, 120]


async def test_a_long_run_with_workflow_caching_off(client, log):
    """Every workflow task replays its Temporal run from the start: continuing as new is what
    keeps that replay short however long the run."""
    flow = long.long_loop
    async with build_worker(client, flow, max_cached_workflows=0):
        handle = await start_run(client, flow.durable_name, flow, "100", None, rid("long-nocache"))
        outcome = await handle.result()
    assert outcome.output == f"done 100 of 100 with {long.STATE_BYTES} bytes"
    assert iterations(log) == list(range(1, 101))


async def test_max_steps_counts_across_the_whole_chain(client):
    flow = long.endless
    with pytest.raises(FlowExecutionError) as err:
        await flow.run(0)
    assert "exceeded max_steps=250" in str(err.value)
    chain = await fetch_chain(client, err.value.run_id)
    assert len(chain) >= 3


async def test_a_local_loop_of_two_thousand_iterations_finishes(client, log):
    """Local steps ride in the workflow task that ran them; the run checkpoints so no task grows
    past Temporal's message limit, and continues as new like any other."""
    result = await long.local_loop.run("2000")
    assert result == f"done 2000 of 2000 with {long.STATE_BYTES} bytes"
    assert iterations(log) == list(range(1, 2001))
    assert len(await fetch_chain(client, result.run_id)) >= 10
    trace = await load_trace(client, result.run_id)  # checkpoints close tasks; they are not steps
    assert trace.path == ["setup"] + ["work", "more"] * 2000 + ["done"]


async def test_a_worker_killed_right_after_a_continuation_loses_nothing(client, log, tmp_path):
    n = 400
    flow = long.long_loop
    worker = procs.start_worker(["flows.long"], tmp_path / "w1.log", REFINIRE_TEST_LOG=str(log))
    handle = await start_run(client, flow.durable_name, flow, str(n), None, rid("long-kill"))
    try:
        first = handle.result_run_id

        async def continued() -> bool:
            desc = await client.get_workflow_handle(handle.id).describe()
            return desc.run_id != first

        deadline = time.monotonic() + 60
        while not await continued():
            assert time.monotonic() < deadline, "the run never continued as new"
            await asyncio.sleep(0.02)
        procs.kill(worker)
        worker = procs.start_worker(["flows.long"], tmp_path / "w2.log", REFINIRE_TEST_LOG=str(log))
        outcome = await handle.result()
    finally:
        procs.stop(worker)
    assert outcome.output == f"done {n} of {n} with {long.STATE_BYTES} bytes"
    seen = iterations(log)
    assert sorted(set(seen)) == list(range(1, n + 1))  # nothing lost
    assert len(seen) - n <= 1  # at most the step in flight ran twice


async def test_an_answer_reaches_a_run_that_continued_as_new(client, log, capsys):
    flow = long.ask_after_loop
    run_id = rid("long-ask")
    async with build_worker(client, flow):
        handle = await start_run(client, flow.durable_name, flow, "150", None, run_id)
        deadline = time.monotonic() + 60
        while True:
            desc = await client.get_workflow_handle(run_id).describe()
            pending = await client.get_workflow_handle(run_id).query("pending_question") \
                if desc.status == WorkflowExecutionStatus.RUNNING else None
            if pending:
                break
            assert time.monotonic() < deadline, "the run never asked"
            await asyncio.sleep(0.1)
        assert desc.run_id != handle.first_execution_run_id  # it asks from a later Temporal run
        assert await cli.amain(["answer", run_id, "teal"]) == 0
        outcome = await handle.result()
    assert outcome.output == "teal after 150"


async def test_an_oversized_parallel_merge_fails_fast_naming_the_block(client):
    big = "y" * 700_000
    flow = Flow({
        "fan": {"parallel": [FunctionStep(f"b{i}", lambda d, c: big) for i in range(3)],
                "next_step": "after"},
        "after": FunctionStep("after", lambda d, c: len(str(d))),
    }, name="long_oversized_merge")
    with pytest.raises(FlowExecutionError) as err:
        await flow.run("go")
    message = str(err.value)
    assert "'fan'" in message and "payload limit" in message and err.value.step == "fan"
    handle = client.get_workflow_handle(err.value.run_id)
    desc = await handle.describe()
    assert desc.status == WorkflowExecutionStatus.FAILED  # not "Running" forever
    events = (await handle.fetch_history()).events
    # Failed at once: no workflow task failed (Temporal would retry that forever), the run's end
    # is its failure.
    assert not [e for e in events if e.HasField("workflow_task_failed_event_attributes")]
    assert events[-1].HasField("workflow_execution_failed_event_attributes")


async def test_a_condition_that_stores_an_unencodable_value_fails_naming_the_step(client):
    def remember_file(ctx) -> bool:
        ctx.shared_state["file"] = os.fsdecode(b"report-\xff.txt")  # a lone surrogate
        return True

    flow = Flow({
        "start": FunctionStep("start", lambda d, c: d),
        "check": ConditionStep("check", remember_file, "next", "next"),
        "next": FunctionStep("next", lambda d, c: d),
    }, name="long_unencodable")
    with pytest.raises(FlowExecutionError) as err:
        await flow.run("x")
    message = str(err.value)
    assert "step 'check'" in message and "shared_state['file']" in message
    assert "surrogates not allowed" in message
    desc = await client.get_workflow_handle(err.value.run_id).describe()
    assert desc.status == WorkflowExecutionStatus.FAILED


async def test_a_step_input_over_the_payload_limit_fails_naming_the_step(client):
    flow = Flow({
        "grow": FunctionStep("grow", lambda d, c: c.shared_state.update(a="a" * 1_500_000) or "ok"),
        "grow_more": FunctionStep("grow_more", lambda d, c: c.shared_state.update(b="b" * 900_000) or "ok"),
        "read": FunctionStep("read", lambda d, c: len(c.shared_state)),
    }, name="long_oversized_context")
    with pytest.raises(FlowExecutionError) as err:
        await flow.run("x")
    assert "step 'read'" in str(err.value) and "payload limit" in str(err.value)
    desc = await client.get_workflow_handle(err.value.run_id).describe()
    assert desc.status == WorkflowExecutionStatus.FAILED


async def test_local_steps_with_large_results_checkpoint_before_the_task_grows_too_big(client, log):
    result = await long.heavy_local_loop.run(None)
    assert result == "40 pages, last 000040"
    assert iterations(log) == list(range(1, 41))


async def test_runs_lists_a_long_run_once(client, capsys):
    result = await long.long_loop.run("80")
    assert len(await fetch_chain(client, result.run_id)) >= 2
    capsys.readouterr()
    assert await cli.amain(["runs", "--flow", long.long_loop.durable_name, "--limit", "1000"]) == 0
    assert capsys.readouterr().out.count(result.run_id) == 1
    from client.history.listing import list_runs

    rows = [r for r in await list_runs(client, flow=long.long_loop.durable_name, limit=1000)
            if r.run_id == result.run_id]
    assert [(r.status, r.run_id) for r in rows] == [("completed", result.run_id)]
    chain = await fetch_chain(client, result.run_id)
    first_start = chain[0].events[0].event_time.ToDatetime(tzinfo=rows[0].start.tzinfo)
    assert abs((rows[0].start - first_start).total_seconds()) < 0.5  # when the run began, not its last part
