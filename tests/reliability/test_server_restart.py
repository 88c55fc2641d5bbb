"""The Temporal server SIGKILLed mid-run and started again on its SQLite file: the run completes.

This test runs its own server (free port, temporary database) so the session's server stays up.
The step is released while the server is down, so the worker has to deliver the step's result to
a server that is not there, and the outage outlasts the step's heartbeat timeout. The worker and
the waiting client keep retrying until the server is back. Nothing is lost: the run, its finished
steps and its input survive; the interrupted step's result is either delivered late or, when the
restarted server has already timed the attempt out, the step runs again (at-least-once).
"""

from __future__ import annotations

import asyncio
import subprocess
import time

import pytest

import procs
from client.connection import embedded
from client.running.start import start_run
from reliability import flows_crash, ledger as L
from reliability.workers import publish, start_polling, until

OUTAGE_S = 3 * flows_crash.HEARTBEAT_S
"""The outage (a scenario, not a synchronisation): longer than the step's heartbeat timeout, so
the restarted server finds the attempt's timer expired."""


@pytest.fixture
def own_server(tmp_path):
    port = embedded.free_port()
    db, log = tmp_path / "own.db", tmp_path / "own-server.log"
    procs_ = []

    def start() -> subprocess.Popen:
        proc = embedded.start_server(db, port, None, detached=False, log_file=log)
        procs_.append(proc)
        embedded.wait_listening(port, 60, proc, log)
        return proc

    yield port, start
    for proc in procs_:
        procs.stop(proc)


async def test_server_killed_and_restarted_mid_run_loses_nothing(own_server, ledger, tmp_path, workers):
    port, start = own_server
    server = start()
    address = f"127.0.0.1:{port}"
    client = await procs.connect_when_ready(address)
    flow = flows_crash.func_flow
    workers.append(await start_polling(client, ["reliability.flows_crash"], flow.durable_name,
                                       tmp_path / "w.log", TEMPORAL_ADDRESS=address))
    tag = f"srv-{time.time_ns()}"
    handle = await start_run(client, flow.durable_name, None, tag, None, tag)
    waiting = asyncio.ensure_future(handle.result())  # a client waiting across the outage
    await until(lambda: L.has(ledger, tag, "slow", "start"), "the slow step to start")
    killed_at = time.time()
    procs.kill(server)
    L.release_file(tag, ledger).touch()
    await until(lambda: L.has(ledger, tag, "slow", "end") and time.time() - killed_at > OUTAGE_S,
                f"the step to finish and {OUTAGE_S} s of outage to pass")
    assert workers[0].poll() is None, "the worker must survive the outage"
    start()
    result = await asyncio.wait_for(waiting, 120)
    back = time.time() - killed_at
    seen = L.counts(ledger, tag)
    assert result.output == tag and result.path == ["first", "slow", "last"]
    assert seen[("first", "end")] == 1 and seen[("last", "end")] == 1
    assert seen[("slow", "end")] >= 1
    desc = await client.get_workflow_handle(tag).describe()
    assert desc.status.name == "COMPLETED"
    history = await client.get_workflow_handle(tag).fetch_history()
    completed = [e for e in history.events if e.HasField("activity_task_completed_event_attributes")]
    assert len(completed) == 3  # one recorded result per step, none lost, none doubled
    print(f"slow step executions across the outage: {seen[('slow', 'start')]}")
    publish("server killed and restarted: kill -> run completed", [back])
