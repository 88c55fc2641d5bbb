"""No run is ever stuck on a payload its worker cannot decode: the run fails at once, FAILED, with a
message naming the run, what could not be decoded and the fix, instead of a workflow task that
retries forever while the run shows Running.

Each cause is reproduced for real: a run started by a client holding one key (or input the current
models reject) and served by a worker whose converter cannot read it.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import shlex
import shutil
import subprocess
import sys
import time

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError
from temporalio.contrib.pydantic import pydantic_data_converter

from client.connection.codec import KEY_ENV
from client.connection.connect import connect
from client.running.start import start_run
from refinire import Flow, FunctionStep, RetrySpec
from workflows.io import WORKFLOW_NAME, task_queue_for
from worker import build_worker

DEADLINE_S = 30.0
REFINIRE_FLOW = os.path.join(os.path.dirname(sys.executable), "refinire-flow")


def _key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


async def _client_with(monkeypatch, key: str | None) -> Client:
    """A client whose converter holds ``key`` (or none), as a process started with it would."""
    if key is None:
        monkeypatch.delenv(KEY_ENV, raising=False)
    else:
        monkeypatch.setenv(KEY_ENV, key)
    return await connect(fresh=True)


def _flow(name: str) -> Flow:
    return Flow(steps=[FunctionStep("shout", lambda data, ctx: str(data).upper())], name=name)


async def _ends_failed(client: Client, run_id: str) -> str:
    """The run's failure message, once it FAILED; fails the test if it is still running at the deadline
    (a workflow task retrying forever) or if a workflow task failed on the way (never retried)."""
    handle = client.get_workflow_handle(run_id)
    end = time.monotonic() + DEADLINE_S
    while (await handle.describe()).status.name == "RUNNING":
        if time.monotonic() > end:
            failed = [e async for e in handle.fetch_history_events()
                      if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]
            raise AssertionError(f"run {run_id!r} still RUNNING after {DEADLINE_S:g}s; "
                                 f"{len(failed)} workflow task failures")
        await asyncio.sleep(0.1)
    assert (await handle.describe()).status.name == "FAILED"
    events = [e async for e in handle.fetch_history_events()]
    assert not [e for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]
    failed = events[-1].workflow_execution_failed_event_attributes.failure
    return failed.message


@pytest.mark.parametrize("worker_key", ["other", None], ids=["another-key", "no-key"])
async def test_a_run_sealed_with_another_key_fails_at_once_naming_the_key(monkeypatch, worker_key):
    sealed_with = _key()
    starter = await _client_with(monkeypatch, sealed_with)
    flow = _flow(f"rel-sealed-elsewhere-{worker_key or 'none'}")
    run_id = f"{flow.durable_name}-{time.time_ns()}"
    await start_run(starter, flow.durable_name, flow, "secret", None, run_id)

    serving = await _client_with(monkeypatch, _key() if worker_key else None)
    async with build_worker(serving, flow):
        message = await _ends_failed(serving, run_id)
    assert f"Run {run_id!r}" in message
    assert "sealed with key 'sha256:" in message
    assert ("holds key 'sha256:" if worker_key else f"this worker has no {KEY_ENV}") in message
    assert "Start the worker with the key the run was sealed with" in message
    assert "The run failed instead of waiting" in message

    # Whoever holds the key reads the same message (it carries no data, so it is not sealed) ...
    starter = await _client_with(monkeypatch, sealed_with)
    with pytest.raises(WorkflowFailureError) as err:
        await starter.get_workflow_handle(run_id).result()
    assert err.value.cause.message == message and err.value.cause.type == "PayloadKeyMismatch"

    # ... and the fix it gives works as printed: a worker with that key, then the reset it names.
    reset = re.search(r"`(temporal workflow reset [^`]+)`", message).group(1)
    async with build_worker(starter, flow):
        out = subprocess.run(shlex.split(reset), capture_output=True, text=True, timeout=60,
                             env={**os.environ, "TEMPORAL_ADDRESS": starter.service_client.config.target_host},
                             executable=shutil.which("temporal", path=os.path.dirname(sys.executable)))
        assert out.returncode == 0, out.stderr
        assert (await starter.get_workflow_handle(run_id).result())["output"] == "SECRET"


async def test_an_input_the_models_reject_fails_at_once_naming_the_field(client, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    flow = _flow("rel-input-rejected")
    raw = await Client.connect(client.service_client.config.target_host, namespace=client.namespace,
                               data_converter=pydantic_data_converter)
    run_id = f"{flow.durable_name}-{time.time_ns()}"
    # A run input written by other code (or an older version) that today's FlowRun rejects.
    await raw.start_workflow(WORKFLOW_NAME, {"flow_name": flow.durable_name, "visits": "many"}, id=run_id,
                             task_queue=task_queue_for(flow.durable_name))
    serving = await connect(fresh=True)
    async with build_worker(serving, flow):
        message = await _ends_failed(serving, run_id)
    assert f"Flow {flow.durable_name!r}: the run's input does not fit this worker's FlowRun model" in message
    assert "visits: Input should be a valid integer" in message and "'many'" not in message  # no data
    assert "another version of refinire-flow" in message


def _cli(*args: str, key: str) -> subprocess.CompletedProcess:
    import procs

    return subprocess.run([REFINIRE_FLOW, *args], cwd=procs.TESTS, env=procs.env(**{KEY_ENV: key}),
                          capture_output=True, text=True, timeout=120)


async def _has_event(client: Client, run_id: str, kind: int) -> bool:
    return any([e async for e in client.get_workflow_handle(run_id).fetch_history_events()
                if e.event_type == kind])


async def _until(predicate, what: str) -> None:
    end = time.monotonic() + DEADLINE_S
    while not await predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {DEADLINE_S:g}s waiting for {what}")
        await asyncio.sleep(0.1)


async def test_a_run_in_flight_replayed_with_another_key_waits_saying_why(monkeypatch, tmp_path):
    """A run that had progressed cannot fail on replay without contradicting its history: its task
    fails with the same clear message (never reported as nondeterminism), it stays Running, and a
    worker with the right key continues it."""
    gate = tmp_path / "open"

    def wait_for_gate(data, ctx):
        if not gate.exists():
            raise RuntimeError("gate closed")
        return f"{data} through"

    flow = Flow(steps=[FunctionStep("first", lambda data, ctx: f"{data}!"), FunctionStep("gate", wait_for_gate)],
                name="rel-sealed-midrun", retry=RetrySpec(max_attempts=10_000, initial_interval_s=0.2,
                                                          max_interval_s=0.5))
    sealed_with = _key()
    owner = await _client_with(monkeypatch, sealed_with)
    run_id = f"{flow.durable_name}-{time.time_ns()}"
    async with build_worker(owner, flow):
        await start_run(owner, flow.durable_name, flow, "go", None, run_id)
        await _until(lambda: _has_event(owner, run_id, EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED),
                     "the first step to complete")

    stranger = await _client_with(monkeypatch, _key())
    async with build_worker(stranger, flow):
        await owner.get_workflow_handle(run_id).signal("poke")  # a workflow task the stranger must replay
        await _until(lambda: _has_event(owner, run_id, EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED),
                     "the stranger's workflow task to fail")
    events = [e async for e in owner.get_workflow_handle(run_id).fetch_history_events()]
    failure = next(e.workflow_task_failed_event_attributes.failure for e in events
                   if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED)
    text = f"{failure.message} {failure.cause.message}"
    assert "Nondeterminism" not in text
    assert f"Run {run_id!r} cannot be decoded here" in text and "sealed with key 'sha256:" in text
    assert "it stays Running, and the first worker that can read it continues it" in text
    assert (await owner.get_workflow_handle(run_id).describe()).status.name == "RUNNING"

    # The CLI says why it is stuck (as the key holder reads it), and exits 0: reading worked.
    show = _cli("show", run_id, "--format", "text", key=sealed_with)
    assert show.returncode == 0, show.stderr
    assert "Error: stuck: its workflow task keeps failing" in show.stdout
    assert f"Run {run_id!r} cannot be decoded here" in show.stdout
    runs = _cli("runs", "--flow", flow.durable_name, key=sealed_with)
    assert runs.returncode == 0, runs.stderr
    row = next(line for line in runs.stdout.splitlines() if line.startswith(run_id))
    assert row.split()[2] == "stuck"
    assert f"run {run_id} is stuck: its workflow task keeps failing; `refinire-flow show {run_id}` says why" \
        in runs.stderr

    gate.touch()
    owner = await _client_with(monkeypatch, sealed_with)
    async with build_worker(owner, flow):
        result = await asyncio.wait_for(owner.get_workflow_handle(run_id).result(), DEADLINE_S)
    assert result["output"] == "go! through"
