"""A worker SIGKILLed in the middle of a step: another worker finishes the run.

Finished steps never run again; the interrupted step runs again (steps are at-least-once). The
recovery time is measured from the kill, with a replacement worker already polling, as a real
deployment has: heartbeats (1 s here) expose the dead attempt and the 3 s sticky-queue timeout
hands the run's workflow tasks to the survivor.
"""

from __future__ import annotations

import os
import time

import procs
from client.running.start import start_run
from reliability import flows_crash, ledger as L
from reliability.workers import publish, start_polling

MODULES = ["reliability.flows_crash"]
TRIALS = int(os.environ.get("REFINIRE_CRASH_TRIALS", "3"))


async def test_function_step_killed_repeatedly_recovers_in_bounded_time(client, ledger, tmp_path, workers):
    flow = flows_crash.func_flow
    victim = await start_polling(client, MODULES, flow.durable_name, tmp_path / "w0.log")
    workers.append(victim)
    restarted, completed = [], []
    for trial in range(TRIALS):
        tag = f"func{trial}-{time.time_ns()}"
        handle = await start_run(client, flow.durable_name, None, tag, None, tag)
        await _until(ledger, tag, "slow", "start")
        spare = await start_polling(client, MODULES, flow.durable_name, tmp_path / f"w{trial + 1}.log")
        workers.append(spare)
        killed_at = time.time()
        procs.kill(victim)
        L.release_file(tag, ledger).touch()
        result = await handle.result()
        completed.append(time.time() - killed_at)
        again = [x for x in L.read(ledger) if x.tag == tag and x.step == "slow" and x.event == "start"
                 and x.pid == spare.pid]
        assert len(again) == 1, L.read(ledger)
        restarted.append(again[0].t - killed_at)
        seen = L.counts(ledger, tag)
        assert seen[("first", "end")] == 1  # finished before the crash: never again
        assert seen[("slow", "start")] == 2 and seen[("slow", "end")] == 1  # interrupted: ran again
        assert seen[("last", "end")] == 1
        assert result.output == tag and result.path == ["first", "slow", "last"]
        assert result.context.shared_state["pid:slow"] == spare.pid
        victim = spare
    publish("function step: kill -> step restarted", restarted)
    publish("function step: kill -> run completed", completed)


async def test_parallel_branch_killed_reruns_only_that_branch(client, ledger, tmp_path, workers):
    flow = flows_crash.parallel_flow
    victim = await start_polling(client, MODULES, flow.durable_name, tmp_path / "w1.log")
    workers.append(victim)
    tag = f"par-{time.time_ns()}"
    handle = await start_run(client, flow.durable_name, None, tag, None, tag)
    await _until(ledger, tag, "held", "start")
    await _until(ledger, tag, "fast", "end")
    spare = await start_polling(client, MODULES, flow.durable_name, tmp_path / "w2.log")
    workers.append(spare)
    procs.kill(victim)
    L.release_file(tag, ledger).touch()
    result = await handle.result()
    seen = L.counts(ledger, tag)
    assert seen[("prep", "start")] == 1 and seen[("fast", "start")] == 1  # finished: never again
    assert seen[("held", "start")] == 2 and seen[("held", "end")] == 1  # the interrupted branch
    assert seen[("join", "end")] == 1
    assert result.output == tag
    assert result.context.shared_state["pid:held"] == spare.pid


async def _until(ledger, tag: str, step: str, event: str) -> None:
    from reliability.workers import until

    await until(lambda: L.has(ledger, tag, step, event), f"{step} {event} of run {tag}")
