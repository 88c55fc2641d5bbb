"""Attaching by id: a run id given to ``flow.run(run_id=...)`` or ``refinire-flow run --id`` is
attached to only when the run is one of *this* flow's.

Without the check, a run of another flow is attached to silently: its result is read as this
flow's and a worker of this flow's code serves the run's task queue. A flow's earlier durable
names still attach: what a run says of its flow (the ``FlowRun`` of its start event, read by
the one history reader, whatever the run's workflow type: ``RefinireFlow`` before 0.4.0) is
compared with the flow, and any of these makes it the same flow:

- the same name (the usual case);
- the same code (``module:variable``, recorded by runs since 0.3.0): the flow was given a name;
- the name an unnamed flow had before 0.2.0, ``<variable>-<hash>``, for the same variable;
- the same graph (steps, kinds and links; the flow's name left out): a flow renamed, whose run
  was started with its spec.
"""

from __future__ import annotations

from shlex import quote

import re

from temporalio.client import Client
from temporalio.service import RPCError

from refinire.errors import FlowExecutionError
from refinire.flow import Flow
from refinire.spec import FlowSpec
from workflows.io import FlowRun

from client.history.reader import read_events

__all__ = ["OtherFlowsRun", "refuse_other_flows_run", "run_start"]

_HASHED_NAME = re.compile(r"^(?P<variable>.+)-[0-9a-f]{12}$")


class OtherFlowsRun(FlowExecutionError):
    """The run id names a run of another flow: nothing was attached to or started."""


async def run_start(client: Client, run_id: str) -> FlowRun | None:
    """What the newest Temporal run of ``run_id`` started with (one history page of one event);
    ``None`` when there is no such run or its start cannot be read (sealed without the key)."""
    try:
        async for event in client.get_workflow_handle(run_id).fetch_history_events(page_size=1):
            return (await read_events(client.data_converter, run_id, [[event]])).run
    except RPCError:
        return None
    return None


def _graph(spec: FlowSpec) -> str:
    return spec.model_copy(update={"name": ""}).with_hash().content_hash


def same_flow(run: FlowRun, flow: Flow, name: str) -> bool:
    """Whether ``run`` was started by ``flow`` (registered as ``name``), under any of its names."""
    if run.flow_name == name:
        return True
    where = flow.code_location
    if where is not None and run.code == where:
        return True
    earlier = _HASHED_NAME.match(run.flow_name)
    variable = where.rpartition(":")[2] if where else None
    if earlier is not None and variable is not None and earlier["variable"] == variable:
        return True
    return run.spec is not None and _graph(run.spec) == _graph(flow.spec)


async def refuse_other_flows_run(client: Client, flow: Flow, name: str, run_id: str) -> None:
    """Return when ``run_id`` is free or a run of ``flow``; raise when it is another flow's.

    Raises:
        OtherFlowsRun: the run's flow is not ``flow``; the message names the run, its flow, the
            flow asked for, and how to follow the run or start a new one.
    """
    run = await run_start(client, run_id)
    if run is None or same_flow(run, flow, name):
        return
    theirs = run.code or run.flow_name
    raise OtherFlowsRun(
        f"Run {run_id!r} is a run of flow {run.flow_name!r}, not of flow {name!r}: a run id attaches "
        f"only to a run of the same flow, so nothing was attached to or started. Follow that run "
        f"with `refinire-flow watch {quote(run_id)}` (or attach with `refinire-flow run {quote(theirs)} --id "
        f"{quote(run_id)}`), or use another run id for a new run of flow {name!r}.",
        flow_name=name, run_id=run_id, cause_type="OtherFlowsRun")
