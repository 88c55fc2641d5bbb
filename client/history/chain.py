"""A run is a chain of Temporal runs: a long flow continues as new under the same workflow id.

Everything that reads a run (show, rerun, replay, the result of a long run) reads the whole chain,
oldest first. Each Temporal run's start event names the run it continues
(``continued_execution_run_id``), so the chain is walked back from the newest run. Walking it one
history at a time would leave the server idle while the client reads and the client idle while
the server answers: the runs the server lists under the workflow id (visibility) are fetched
ahead, a few at a time, and the walk takes them as it reaches them (a run the listing missed, or
one of another chain under a reused id, is fetched or skipped as the links say).
"""

from __future__ import annotations

import asyncio
from datetime import timezone

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHistory

__all__ = ["fetch_chain", "previous_run_id"]

AHEAD = 8
"""Histories fetched at once while walking a chain."""


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
    if previous is None:
        return chain
    gate = asyncio.Semaphore(AHEAD)

    async def fetch(temporal_id: str) -> WorkflowHistory:
        async with gate:
            return await client.get_workflow_handle(run_id, run_id=temporal_id).fetch_history()

    ahead = {rid: asyncio.ensure_future(fetch(rid)) for rid in await _continued_runs(client, newest)}
    try:
        while previous:
            task = ahead.pop(previous, None)
            history = await task if task is not None else await fetch(previous)
            chain.append(history)
            previous = previous_run_id(history)
    finally:
        for task in ahead.values():
            task.cancel()
        await asyncio.gather(*ahead.values(), return_exceptions=True)
    chain.reverse()
    return chain


async def _continued_runs(client: Client, newest: WorkflowHistory) -> list[str]:
    """The Temporal runs under the workflow id that continued as new before ``newest`` started,
    newest first (what the server's listing knows; nothing when it cannot list)."""
    started = newest.events[0].event_time.ToDatetime(tzinfo=timezone.utc)
    query = (f"WorkflowId = '{_escape(newest.workflow_id)}' AND ExecutionStatus = 'ContinuedAsNew'")
    found: list[tuple[object, str]] = []
    try:
        async for e in client.list_workflows(query):
            if e.status == WorkflowExecutionStatus.CONTINUED_AS_NEW and e.start_time <= started:
                found.append((e.start_time, e.run_id))
    except Exception:
        return []
    return [rid for _, rid in sorted(found, reverse=True)]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")
