"""A script's in-process worker never abandons a step it took (client/running/draining.py).

Real processes: the script (``flow.run`` under ``asyncio.run``, or ``refinire-flow run``), a
long-lived ``worker.py``, the session's dev server. The step ``gate`` (tests/flows/inproc.py) waits
for a file the test creates, and allows one attempt: an abandoned attempt would fail its run.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError

import procs
from client.running.draining import grace_s
from client.running.start import start_run
from flows.inproc import gate_flow
from workflows.io import FlowResult

SCRIPT = """
import asyncio, sys
from flows.inproc import gate_flow

async def main():
    result = await gate_flow.run(sys.argv[1], run_id=sys.argv[2])
    print(result.value)

asyncio.run(main())
"""


class Script:
    """A script subprocess running one run of ``gate_flow``, its stdout and stderr kept apart."""

    def __init__(self, tmp_path: Path, ledger: Path, tag: str, run_id: str, *, cli: bool = False,
                 **extra: str):
        self.out, self.err = tmp_path / f"{tag}.out", tmp_path / f"{tag}.err"
        if cli:
            args = ["-m", "client", "run", "flows.inproc:gate_flow", tag, "--id", run_id]
        else:
            (tmp_path / "script.py").write_text(SCRIPT)
            args = [str(tmp_path / "script.py"), tag, run_id]
        self.proc = subprocess.Popen([sys.executable, *args], cwd=procs.TESTS,
                                     env=procs.env(REFINIRE_TEST_LEDGER=str(ledger), **extra),
                                     stdout=open(self.out, "wb"), stderr=open(self.err, "wb"))

    def stderr(self) -> str:
        return self.err.read_text()

    def wait_stderr(self, text: str) -> None:
        procs.wait_for(lambda: text in self.stderr() or self.proc.poll() is not None,
                       f"{text!r} on the script's stderr")
        assert text in self.stderr(), self.stderr()

    def stop(self) -> None:
        procs.kill(self.proc)


def _release(ledger: Path, tag: str) -> None:
    Path(f"{ledger}.{tag}.release").touch()


def _started(ledger: Path, tag: str, pid: int) -> bool:
    return f"start:{tag}:{pid}" in procs.lines(ledger)


async def _gate_record(client, run_id: str) -> tuple[list[int], list[str]]:
    """The attempts the gate step's ActivityTaskStarted events record, and every failed or timed
    out activity event of the run."""
    attempts, failures = [], []
    scheduled: dict[int, str] = {}
    async for event in client.get_workflow_handle(run_id).fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled[event.event_id] = event.activity_task_scheduled_event_attributes.activity_id
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            started = event.activity_task_started_event_attributes
            if scheduled[started.scheduled_event_id].startswith("gate#"):
                attempts.append(started.attempt)
        elif event.event_type in (EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
                                  EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
                                  EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED):
            failures.append(EventType.Name(event.event_type))
    return attempts, failures


def _ids(tag: str) -> str:
    return f"inproc-{tag}-{uuid.uuid4().hex[:8]}"


async def test_a_script_that_took_another_runs_step_lets_it_finish_before_exiting(client, tmp_path):
    ledger = tmp_path / "ledger.txt"
    own, other = _ids("own"), _ids("other")
    script = Script(tmp_path, ledger, "own", own)
    worker = None
    try:
        procs.wait_for(lambda: _started(ledger, "own", script.proc.pid), "the script's own step")
        # Only the script's worker serves the flow now: it takes the other run's step too.
        handle = await start_run(client, gate_flow.durable_name, gate_flow, "other", None, other)
        procs.wait_for(lambda: _started(ledger, "other", script.proc.pid),
                       "the script's worker to take the other run's step")
        log = tmp_path / "worker.log"
        worker = procs.start_worker(["flows.inproc"], log, REFINIRE_TEST_LEDGER=str(ledger))
        procs.wait_for(lambda: "serving 'tests.inproc:gate_flow'" in log.read_text(), "the worker")

        _release(ledger, "own")  # the script's run ends; the other run's step is still running in it
        script.wait_stderr(f"finishing step 'gate' of run {other!r} before exiting (up to 30 s); "
                           "Ctrl-C to abandon it")
        assert script.proc.poll() is None  # it waits for the step instead of cancelling it
        assert script.out.read_text() == ""  # flow.run returns once its worker has stopped

        _release(ledger, "other")
        assert script.proc.wait(30) == 0
        assert script.out.read_text() == "own passed, then after\n"  # stdout is the script's own
        assert f"finished step 'gate' of run {other!r}" in script.stderr()
        result = await client.get_workflow_handle(other, result_type=FlowResult).result()
    finally:
        script.stop()
        if worker is not None:
            procs.stop(worker)
    assert result.output == "other passed, then after"
    assert await _gate_record(client, other) == ([1], [])  # the first attempt finished it
    assert f"end:other:{script.proc.pid}" in procs.lines(ledger)
    assert handle.id == other


@pytest.mark.parametrize("cli", [False, True], ids=["script", "refinire-flow run"])
async def test_ctrl_c_lets_the_running_step_finish_and_the_run_goes_on(client, tmp_path, cli):
    ledger = tmp_path / "ledger.txt"
    own = _ids("own")
    script = Script(tmp_path, ledger, "own", own, cli=cli)
    worker = None
    try:
        procs.wait_for(lambda: _started(ledger, "own", script.proc.pid), "the script's step")
        script.proc.send_signal(signal.SIGINT)
        script.wait_stderr(f"finishing step 'gate' of run {own!r} before exiting (up to 30 s); "
                           "Ctrl-C again to abandon it")
        assert script.proc.poll() is None
        _release(ledger, "own")
        # interrupted, as documented: the command says 130; a script ends as Python ends one on an
        # uncaught KeyboardInterrupt, by SIGINT (130 in a shell)
        assert script.proc.wait(30) == (130 if cli else -signal.SIGINT)
        assert f"finished step 'gate' of run {own!r}" in script.stderr()
        assert script.out.read_text() == ""
        # The step's result is recorded; the run goes on with any worker of the flow.
        log = tmp_path / "worker.log"
        worker = procs.start_worker(["flows.inproc"], log, REFINIRE_TEST_LEDGER=str(ledger))
        result = await client.get_workflow_handle(own, result_type=FlowResult).result()
    finally:
        script.stop()
        if worker is not None:
            procs.stop(worker)
    assert result.output == "own passed, then after"
    assert await _gate_record(client, own) == ([1], [])
    assert [line.split(":")[0] for line in procs.lines(ledger)] == ["start", "end"]  # ran once


async def test_ctrl_c_twice_leaves_at_once_and_says_the_attempt_is_lost(client, tmp_path):
    ledger = tmp_path / "ledger.txt"
    own = _ids("own")
    script = Script(tmp_path, ledger, "own", own)
    try:
        procs.wait_for(lambda: _started(ledger, "own", script.proc.pid), "the script's step")
        script.proc.send_signal(signal.SIGINT)
        script.wait_stderr("Ctrl-C again to abandon it")
        script.proc.send_signal(signal.SIGINT)
        assert script.proc.wait(30) == 130  # the step is still blocked: the script did not wait for it
        assert f"end:own:{script.proc.pid}" not in procs.lines(ledger)
        assert (f"abandoned step 'gate' of run {own!r}: this attempt is lost; Temporal runs the step "
                "again after its heartbeat timeout (1 s)") in script.stderr()
        description = await client.get_workflow_handle(own).describe()
        assert description.status == WorkflowExecutionStatus.RUNNING  # nothing ended the run
    finally:
        script.stop()
        _release(ledger, "own")
        await client.get_workflow_handle(own).terminate("test over")


async def test_a_step_still_running_when_the_window_ends_is_cancelled_and_the_script_says_so(
        client, tmp_path):
    ledger = tmp_path / "ledger.txt"
    own = _ids("own")
    script = Script(tmp_path, ledger, "own", own, REFINIRE_GRACEFUL_SHUTDOWN="0.5")
    worker = None
    try:
        procs.wait_for(lambda: _started(ledger, "own", script.proc.pid), "the script's step")
        script.proc.send_signal(signal.SIGINT)
        script.wait_stderr(f"finishing step 'gate' of run {own!r} before exiting (up to 0.5 s)")
        script.wait_stderr(f"step 'gate' of run {own!r} did not finish within 0.5 s: its attempt was "
                           "cancelled and counts against the step's retries")
        _release(ledger, "own")  # the step's thread cannot be stopped: the process waits for it
        assert script.proc.wait(30) == -signal.SIGINT  # KeyboardInterrupt, as Python ends: 130 in a shell
        # One attempt allowed: the cancelled one fails the run once a worker takes it up.
        worker = procs.start_worker(["flows.inproc"], tmp_path / "worker.log",
                                    REFINIRE_TEST_LEDGER=str(ledger))
        with pytest.raises(WorkflowFailureError) as failed:
            await client.get_workflow_handle(own, result_type=FlowResult).result()
        assert "failed at step 'gate': WorkerShutdown" in str(failed.value.cause)
    finally:
        script.stop()
        if worker is not None:
            procs.stop(worker)
    attempts, failures = await _gate_record(client, own)
    assert attempts == [1] and failures == ["EVENT_TYPE_ACTIVITY_TASK_FAILED"]


def test_the_window_comes_from_the_environment_and_a_bad_value_names_the_fix(monkeypatch):
    monkeypatch.delenv("REFINIRE_GRACEFUL_SHUTDOWN", raising=False)
    assert grace_s() == 30
    monkeypatch.setenv("REFINIRE_GRACEFUL_SHUTDOWN", "2.5")
    assert grace_s() == 2.5
    for bad in ("soon", "-1", "nan", "inf"):
        monkeypatch.setenv("REFINIRE_GRACEFUL_SHUTDOWN", bad)
        with pytest.raises(ValueError) as err:
            grace_s()
        assert str(err.value).startswith(f"REFINIRE_GRACEFUL_SHUTDOWN={bad!r} is not a number of seconds: "
                                         "set it to 0 or more")
        assert "unset it for the default 30" in str(err.value)
