"""Rerun a run from a named step, as a new run that starts there.

Temporal's reset can only go back to a workflow-task boundary and re-executes everything after it;
this starts a new run at the step with the context the old run had just before it, so the steps
before it (and the model calls they paid for) are not executed again. The old run keeps its history;
the new one names it in its input (``FlowRun.rerun_of``), its memo and its summary.
"""

from __future__ import annotations

from shlex import quote

from dataclasses import dataclass

from temporalio.client import Client, WorkflowHandle

from refinire.context import Context
from refinire.errors import FlowExecutionError
from refinire.flow import Flow

from client.history.reader import RunRecord, read_run
from client.history.steps import StepNotReached, context_before
from .start import new_run_id, start_run
from workflows.formats import RERUN_FROM_MEMO, RERUN_OF_MEMO, rerun_summary


@dataclass
class RerunPlan:
    old_run_id: str
    flow_name: str
    step: str
    record: RunRecord


def plan(record: RunRecord, from_step: str | None, flow: Flow | None) -> RerunPlan:
    """Which step to start at, checked against the old run and the code that will run it."""
    old = record.run_id
    if not record.closed:
        raise FlowExecutionError(
            f"Run {old!r} is still running. Wait for it, or stop it with `refinire-flow cancel {quote(old)}` "
            "and rerun it then.")
    wanted = from_step or record.failed_step
    if wanted is None:
        raise FlowExecutionError(
            f"Run {old!r} did not fail at a step, so there is no default step to rerun from. Name one "
            f"with --from. Steps the run reached: {record.reached()!r}")
    step = record.step_key(wanted)
    spec = flow.spec if flow is not None else record.spec
    if step is None or (spec is not None and step not in spec.steps):
        known = list(spec.steps) if spec is not None else record.reached()
        raise FlowExecutionError(
            f"Flow {record.flow_name!r} has no step {wanted!r} to rerun from. Known steps: {known!r}")
    return RerunPlan(old, record.flow_name, step, record)


async def start_rerun(client: Client, run_id: str, from_step: str | None = None, *,
                      flow: Flow | None = None, new_id: str | None = None,
                      record: RunRecord | None = None) -> tuple[WorkflowHandle, RerunPlan]:
    """Start the new run (a worker for the flow must be running, or be hosted by the caller).

    ``record``: the old run's record when the caller has read it already (``read_run``), so a long
    run's chain is not read twice; a closed run's history does not change."""
    if record is None or record.run_id != run_id:
        record = await read_run(client, run_id)
    record.require_run()
    the_plan = plan(record, from_step, flow)
    ctx = await _context(client, record, the_plan.step)
    name = the_plan.flow_name
    handle = await start_run(
        client, name, flow, ctx.result, ctx, new_id or new_run_id(name),
        start_at=the_plan.step, rerun_of=run_id,
        summary=rerun_summary(name, run_id, the_plan.step),
        memo={RERUN_OF_MEMO: run_id, RERUN_FROM_MEMO: the_plan.step},
    )
    return handle, the_plan


async def _context(client: Client, record: RunRecord, step: str) -> Context:
    """A rerun did not run the steps before its start: those contexts are in the run it reruns."""
    try:
        return context_before(record, step)
    except StepNotReached:
        if not record.require_run().rerun_of:
            raise
    try:
        return await _context(client, await read_run(client, record.require_run().rerun_of), step)
    except StepNotReached:
        raise StepNotReached(
            f"Run {record.run_id!r} (and the runs it reruns) never reached step {step!r}, so there is "
            f"no context to start it from: rerun from a step it reached. Steps the run reached: "
            f"{record.reached()!r}") from None
