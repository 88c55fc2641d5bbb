"""A run is a chain of Temporal runs: a long flow continues as new under the same workflow id.

Everything that reads a run (show, rerun, replay, the result of a long run) reads the whole chain,
oldest first. Each Temporal run's start event names the run it continues
(``continued_execution_run_id``), so the chain is walked back from the newest run.
"""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory

__all__ = ["fetch_chain", "previous_run_id"]


def previous_run_id(history: WorkflowHistory) -> str | None:
    """The Temporal run this one continues, or ``None`` for the first run of a chain."""
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            return event.workflow_execution_started_event_attributes.continued_execution_run_id or None
        break
    return None


async def fetch_chain(client: Client, run_id: str, *, temporal_run_id: str | None = None) -> list[WorkflowHistory]:
    """Every Temporal run of ``run_id`` (the workflow id), oldest first.

    Args:
        client: a connected client (its data converter is not used: histories stay encoded).
        run_id: the workflow id, what ``flow.run`` reports as ``run_id``.
        temporal_run_id: start from this Temporal run instead of the newest.

    Raises:
        temporalio.service.RPCError: the run does not exist or the server cannot be reached.
    """
    newest = await client.get_workflow_handle(run_id, run_id=temporal_run_id).fetch_history()
    chain = [newest]
    previous = previous_run_id(newest)
    while previous:
        history = await client.get_workflow_handle(run_id, run_id=previous).fetch_history()
        chain.append(history)
        previous = previous_run_id(history)
    chain.reverse()
    return chain
