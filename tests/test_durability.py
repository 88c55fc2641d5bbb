"""Crashes and replays: killed workers and scripts, Temporal's Replayer over a fresh history.

The recorded histories (tests/histories/) are replayed by tests/test_replay_corpus.py.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

import procs
from client.running.start import start_run
from flows import durable
from workflows.refinire_flow import WORKFLOWS
from client.serving.worker import SANDBOX_RUNNER, build_worker


@pytest.fixture
def ledger(tmp_path, monkeypatch):
    path = tmp_path / "ledger.txt"
    monkeypatch.setenv("REFINIRE_TEST_LEDGER", str(path))
    return path


async def _in_slow_step(client, ledger, tmp_path, tag: str):
    """A worker subprocess, and a crash_flow run that it is executing the slow step of."""
    worker = procs.start_worker(["flows.durable"], tmp_path / "w1.log")
    handle = await start_run(client, durable.crash_flow.durable_name, durable.crash_flow, "in",
                             None, f"{tag}-{time.time_ns()}")
    procs.wait_for(lambda: "slow:start" in procs.lines(ledger), "the slow step to start")
    return worker, handle


async def test_worker_killed_mid_step_and_a_new_worker_finishes_without_redoing_steps(
        client, ledger, tmp_path):
    worker, handle = await _in_slow_step(client, ledger, tmp_path, "crash")
    try:
        procs.kill(worker)
        worker = procs.start_worker(["flows.durable"], tmp_path / "w2.log")
        Path(str(ledger) + ".release").touch()
        result = await handle.result()
    finally:
        procs.stop(worker)
    assert result.output == "in+first+slow+last"
    runs = procs.lines(ledger)
    assert runs.count("first") == 1  # finished before the crash: never again
    assert runs.count("slow:start") == 2  # interrupted: run again (steps are at-least-once)
    assert runs.count("last") == 1


async def test_a_client_starts_a_flow_by_name_and_a_worker_elsewhere_runs_it(client, tmp_path):
    worker = procs.start_worker(["flows.durable"], tmp_path / "w.log")
    try:
        handle = await start_run(client, "tests.durable:by_name_flow", None, "abcdef", None, None)
        result = await handle.result()
    finally:
        procs.stop(worker)
    assert result.output == "long <abcdef>"
    assert result.path == ["prep", "check", "long"]


async def test_sigterm_lets_the_running_step_finish_instead_of_running_it_again(
        client, ledger, tmp_path):
    worker, handle = await _in_slow_step(client, ledger, tmp_path, "drain")
    try:
        worker.send_signal(signal.SIGTERM)
        procs.wait_for(lambda: "stopping" in (tmp_path / "w1.log").read_text(), "the worker to drain")
        Path(str(ledger) + ".release").touch()
        assert worker.wait(30) == 0  # finished the step, reported it, exited cleanly
        worker = procs.start_worker(["flows.durable"], tmp_path / "w2.log")
        result = await handle.result()
    finally:
        procs.stop(worker)
    assert result.output == "in+first+slow+last"
    assert procs.lines(ledger).count("slow:start") == 1  # drained, not re-run elsewhere


SCRIPT = """
import asyncio, sys
from flows.durable import crash_flow
async def main():
    result = await crash_flow.run("script", run_id=sys.argv[1])
    print("RESULT", result, flush=True)
asyncio.run(main())
"""


def test_a_killed_script_started_again_resumes_the_same_run(ledger, tmp_path):
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    run_id = f"script-{time.time_ns()}"
    first = procs.start([str(script), run_id], tmp_path / "s1.log")
    procs.wait_for(lambda: "slow:start" in procs.lines(ledger), "the slow step to start")
    procs.kill(first)
    Path(str(ledger) + ".release").touch()
    second = procs.start([str(script), run_id], tmp_path / "s2.log")
    assert second.wait(60) == 0, (tmp_path / "s2.log").read_text()
    assert "RESULT script+first+slow+last" in (tmp_path / "s2.log").read_text()
    runs = procs.lines(ledger)
    assert runs.count("first") == 1 and runs.count("last") == 1


async def test_flows_run_with_workflow_caching_off(client):
    """Every workflow task replays the whole history: any non-determinism would fail the run."""
    flow = durable.by_name_flow
    async with build_worker(client, flow, max_cached_workflows=0):
        handle = await start_run(client, flow.durable_name, flow, "xyzxyz", None, None)
        result = await handle.result()
    assert result.output == "long <xyzxyz>"


async def test_a_fresh_history_replays_and_a_changed_condition_is_caught(client):
    flow = durable.by_name_flow
    async with build_worker(client, flow):
        handle = await start_run(client, flow.durable_name, flow, "abc", None, None)
        await handle.result()
    history = await client.get_workflow_handle(handle.id).fetch_history()
    replayer = Replayer(workflows=WORKFLOWS, workflow_runner=SANDBOX_RUNNER,
                        data_converter=pydantic_data_converter)
    await replayer.replay_workflow(history)
    original = flow._steps["check"].condition
    flow._steps["check"].condition = lambda ctx: not original(ctx)
    try:
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    finally:
        flow._steps["check"].condition = original
    assert result.replay_failure is not None


async def test_attaching_to_an_ended_run_starts_no_worker_that_could_take_another_runs_step(client):
    """`run --id` of a finished run reads its result; a worker started for it would poll the flow's
    queue and could take, then abandon, a step of another run waiting there."""
    import uuid

    from refinire import Flow, FunctionStep

    flow = Flow({"a": FunctionStep("a", lambda data, ctx: f"done {data}")}, name=f"attach-{uuid.uuid4().hex[:8]}")
    done_id = f"{flow.name}-done"
    assert str(await flow.run("x", run_id=done_id)) == "done x"
    waiting = await start_run(client, flow.durable_name, flow, "y", None, None)  # no worker serves it now
    try:
        assert str(await flow.run("x", run_id=done_id)) == "done x"  # attach: the result, at once
        kinds = [e.event_type for e in (await waiting.fetch_history()).events]
        assert EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED not in kinds, kinds  # nobody took its task
    finally:
        await waiting.terminate("test over")
