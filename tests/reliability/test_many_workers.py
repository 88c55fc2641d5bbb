"""Three workers share one flow's task queue; one is SIGKILLed while 100 runs are in flight.

Counting is exact because every step records which process ran it in the run's own result
(``shared_state["pid:<step>"]``): that execution is the one Temporal kept. The claim proven:
every run completes; steps finished before the kill (a) or started after it (c) ran exactly
once; for the step in flight (b), the kept execution ran exactly once, the killed worker's
executions were never kept, and a step never ran more often than the attempts Temporal recorded
(an extra execution is always an attempt Temporal had timed out).
"""

from __future__ import annotations

import asyncio
import time

import procs
from client.running.start import start_run
from reliability import flows_crash, ledger as L
from reliability.workers import pollers, publish, until, until_async

RUNS = 100
STEPS = ("a", "b", "c")


async def test_one_of_three_workers_killed_with_100_runs_in_flight(client, ledger, tmp_path, workers):
    flow = flows_crash.many_flow
    for i in range(3):
        workers.append(procs.start_worker(["reliability.flows_crash"], tmp_path / f"w{i}.log"))
    pids = {w.pid for w in workers}
    await until_async(lambda: _polling(client, flow.durable_name, pids), "all three workers to poll")
    batch = f"m{time.time_ns()}"
    tags = [f"{batch}-{i}" for i in range(RUNS)]
    handles = await asyncio.gather(*(start_run(client, flow.durable_name, None, t, None, t) for t in tags))
    victim = workers[0]
    await until(lambda: len({x.tag for x in L.read(ledger) if x.step == "b"}) == RUNS,
                f"all {RUNS} runs to be inside step b", 90)
    interrupted = {x.tag for x in L.read(ledger) if x.step == "b" and x.pid == victim.pid}
    assert interrupted, "the victim held none of the runs: nothing would be proven"
    killed_at = time.time()
    procs.kill(victim)
    L.release_file("many", ledger).touch()
    results = await asyncio.gather(*(h.result() for h in handles))
    all_done = time.time() - killed_at

    lines = L.read(ledger)
    reruns = 0
    for tag, result in zip(tags, results):
        assert result.output == tag and result.path == list(STEPS)
        attempts = await _attempts(client, tag)
        for step in STEPS:
            kept = result.context.shared_state[f"pid:{step}"]
            mine = [x for x in lines if x.tag == tag and x.step == step]
            starts = [x for x in mine if x.event == "start"]
            # The kept worker finished it once, or more often only through attempts Temporal had timed
            # out (a missed heartbeat under load hands the retry to any worker, this one included).
            kept_ends = sum(1 for x in mine if x.pid == kept and x.event == "end")
            assert 1 <= kept_ends <= attempts[step], (tag, step, mine, attempts)
            assert len(starts) <= attempts[step], (tag, step, mine, attempts)  # never more than scheduled
            if len(starts) > 1:
                reruns += 1
                assert kept != victim.pid, (tag, step, mine)  # the victim's executions were discarded
            if step != "b":  # finished before the kill (a) or started after it (c)
                assert len(starts) == 1, (tag, step, mine)
    interrupted_b = len(interrupted)
    assert reruns >= interrupted_b  # every b the victim held ran again elsewhere
    print(f"steps executed more than once: {reruns} ({interrupted_b} held by the killed worker)")
    assert all(r.context.shared_state["pid:b"] != victim.pid for t, r in zip(tags, results) if t in interrupted)
    publish(f"{RUNS} runs, 1 of 3 workers killed ({interrupted_b} steps interrupted): kill -> all completed",
            [all_done])



async def _polling(client, flow_name: str, pids: set[int]) -> bool:
    return pids <= await pollers(client, flow_name)


async def _attempts(client, run_id: str) -> dict[str, int]:
    """Step key -> the attempt Temporal recorded as the one that completed."""
    history = await client.get_workflow_handle(run_id).fetch_history()
    scheduled = {e.event_id: e.activity_task_scheduled_event_attributes.activity_id.split("#")[0]
                 for e in history.events if e.HasField("activity_task_scheduled_event_attributes")}
    return {scheduled[a.scheduled_event_id]: a.attempt for e in history.events
            if e.HasField("activity_task_started_event_attributes")
            for a in [e.activity_task_started_event_attributes]}
