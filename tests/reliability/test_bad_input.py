"""Bad input not covered elsewhere: each fails fast with a message naming the flow, the step and
the fix, and a run that failed stays in Temporal, FAILED, with no retry loop.

The table in docs/reliability.md maps every bad-input case to its message and its test.
"""

from __future__ import annotations

import socket
import time

import pytest
from temporalio.service import RPCError

import procs
from client.connection.connect import connect
from refinire import Flow, FlowExecutionError, FunctionStep

MB = 1024 * 1024


async def _attempts(client, run_id: str) -> list[int]:
    return [e.activity_task_started_event_attributes.attempt
            async for e in client.get_workflow_handle(run_id).fetch_history_events()
            if e.HasField("activity_task_started_event_attributes")]


async def _failed_run(client, flow: Flow, data) -> FlowExecutionError:
    with pytest.raises(FlowExecutionError) as err:
        await flow.run(data)
    assert (await client.get_workflow_handle(err.value.run_id).describe()).status.name == "FAILED"
    assert await _attempts(client, err.value.run_id) == [1]  # failed at once: never retried
    return err.value


async def test_a_step_output_that_is_not_json_fails_naming_flow_and_step(client):
    flow = Flow(steps=[FunctionStep("opener", lambda d, c: object())], name="rel-bad-output", retry=5)
    err = await _failed_run(client, flow, None)
    assert err.cause_type == "NotSerializable" and err.step == "opener"
    assert "Flow 'rel-bad-output': step 'opener' produced a object in its output" in str(err)
    assert "Return plain data" in str(err)


async def test_a_step_output_over_the_payload_limit_fails_once_on_the_server(client):
    flow = Flow(steps=[FunctionStep("hoard", lambda d, c: "x" * (2 * MB + 1))], name="rel-big-output", retry=5)
    err = await _failed_run(client, flow, None)
    assert err.cause_type == "PayloadTooLarge" and err.step == "hoard"
    assert "over Temporal's 2,097,152-byte payload limit" in str(err) and "pass a reference" in str(err)


async def test_an_oversized_input_is_refused_before_anything_starts(client):
    flow = Flow(steps=[FunctionStep("a", lambda d, c: len(d))], name="rel-big-input")
    run_id = f"rel-big-input-{time.time_ns()}"
    with pytest.raises(FlowExecutionError) as err:
        await flow.run("x" * (3 * MB), run_id=run_id)
    assert "Flow 'rel-big-input': the run's input is" in str(err.value)
    assert "nothing was started" in str(err.value) and "Pass a reference" in str(err.value)
    with pytest.raises(RPCError):
        await client.get_workflow_handle(run_id).describe()


SCRIPT = """
import asyncio
from refinire import Flow, FunctionStep
flow = Flow(steps=[FunctionStep("a", lambda d, c: d)], name="rel-unreachable")
asyncio.run(flow.run("x"))
"""


def test_an_unreachable_server_fails_at_once_naming_the_address(tmp_path):
    port = _closed_port()
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    proc = procs.start([str(script)], tmp_path / "out.log", TEMPORAL_ADDRESS=f"127.0.0.1:{port}")
    assert proc.wait(60) != 0
    out = (tmp_path / "out.log").read_text()
    assert f"FlowExecutionError: Cannot reach Temporal at '127.0.0.1:{port}' (TEMPORAL_ADDRESS" in out
    assert "Connection refused" in out and "Start a server" in out


async def test_a_server_that_never_answers_is_given_up_on_after_the_connect_timeout(monkeypatch):
    with socket.socket() as silent:  # accepts connections, never speaks gRPC
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        monkeypatch.setenv("TEMPORAL_ADDRESS", f"127.0.0.1:{silent.getsockname()[1]}")
        monkeypatch.setenv("REFINIRE_CONNECT_TIMEOUT", "1")
        with pytest.raises(FlowExecutionError, match="no answer within 1 s"):
            await connect(fresh=True)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_malformed_structured_output_fails_naming_the_step_after_bounded_retries(client, model):
    from refinire import RefinireAgent, RetrySpec

    model.script("a draft", "score: great!", "score: great!")
    flow = Flow(steps=RefinireAgent("judged", "Write", "Score it", model="m-test"), name="rel-bad-json",
                retry=RetrySpec(max_attempts=2, initial_interval_s=0.1))
    with pytest.raises(FlowExecutionError) as err:
        await flow.run("q")
    e = err.value
    assert e.cause_type == "BadStructuredOutput" and e.step == "judged"
    assert "did not return the Evaluation JSON" in str(e) and "'score: great!'" in str(e)
    assert "Use a model that supports structured output" in str(e)
    assert (await client.get_workflow_handle(e.run_id).describe()).status.name == "FAILED"
    assert [r.activity for r in model.requests] == ["judged#1.gen1", "judged#1.eval1", "judged#1.eval1"]
