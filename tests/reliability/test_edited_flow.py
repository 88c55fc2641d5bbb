"""A flow edited while its runs are in flight: the old runs keep the graph they started with, or
stop with a message naming the change; they never silently take another path. A replay of a
recorded run against the edited code flags each incompatible edit before it is deployed.
"""

from __future__ import annotations

import time

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError

import procs
from client.operations.replay import replay_history
from client.running.start import start_run
from reliability import flows_edit_v1 as v1, ledger as L
from reliability.workers import start_polling, until, until_async

V2 = "reliability.flows_edit_v2"
PATH = ["intro", "check", "left", "finish"]


async def _history_has(client, run_id: str, event_type: int) -> bool:
    history = await client.get_workflow_handle(run_id).fetch_history()
    return any(e.event_type == event_type for e in history.events)


async def test_runs_in_flight_survive_a_deploy_of_edited_code_or_stop_naming_the_change(
        client, ledger, tmp_path, workers):
    flows = (v1.graph_flow, v1.removed_flow, v1.condition_flow)
    old = None
    for flow in flows:
        old = await start_polling(client, ["reliability.flows_edit_v1"], flow.durable_name,
                                  tmp_path / "v1.log") if old is None else old
    workers.append(old)
    stamp = time.time_ns()
    live, done = {}, {}
    for flow in flows:
        tag, ctl = f"{flow.durable_name}-live-{stamp}", f"{flow.durable_name}-done-{stamp}"
        L.release_file(ctl, ledger).touch()
        done[flow.durable_name] = await start_run(client, flow.durable_name, flow, ctl, None, ctl)
        live[flow.durable_name] = await start_run(client, flow.durable_name, flow, tag, None, tag)
    for name, handle in done.items():
        assert (await handle.result()).path == PATH  # recorded on v1, replayed below against v2
    for name, handle in live.items():
        await until(lambda: L.has(ledger, handle.id, "left", "start"), f"{name} to reach 'left'")

    procs.kill(old)  # deploy: v1 goes, v2 comes
    for handle in live.values():
        L.release_file(handle.id, ledger).touch()
    new = await start_polling(client, [V2], v1.NAMES[0], tmp_path / "v2.log")
    workers.append(new)

    graph = await live["rel-edit-graph"].result()
    assert graph.path == PATH  # v1's graph: the step v2 added never ran
    assert not L.has(ledger, live["rel-edit-graph"].id, "audit", "start")

    with pytest.raises(WorkflowFailureError) as failed:
        await live["rel-edit-removed"].result()
    message = str(failed.value.cause)
    assert "step 'finish'" in message and "StepNotInCode" in message and "rel-edit-removed" in message
    assert (await live["rel-edit-removed"].describe()).status.name == "FAILED"

    changed = live["rel-edit-condition"]
    await until_async(lambda: _history_has(client, changed.id, EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED),
                      "the v2 worker to refuse the replay of the run whose decision changed")
    history = await changed.fetch_history()
    failure = next(e.workflow_task_failed_event_attributes for e in history.events
                   if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED)
    assert "Nondeterminism" in failure.failure.message  # names both the recorded and the new step
    assert "'left#3'" in failure.failure.message and "'right#3'" in failure.failure.message
    assert (await changed.describe()).status.name == "RUNNING"  # stopped, not moved to another path
    assert not L.has(ledger, changed.id, "right", "start")
    await changed.terminate("test over: the run could not continue on the edited code")

    verdicts = {}
    for name, handle in done.items():
        history = await client.get_workflow_handle(handle.id).fetch_history()
        assert (await replay_history(history, ["reliability.flows_edit_v1"])).ok
        verdicts[name] = await replay_history(history, [V2])
    assert verdicts["rel-edit-graph"].ok
    assert verdicts["rel-edit-removed"].step == "finish" and "no longer has" in verdicts["rel-edit-removed"].reason
    assert verdicts["rel-edit-condition"].step == "check" and "decided 'True'" in verdicts["rel-edit-condition"].reason

