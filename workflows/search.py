"""Search attributes that make runs findable in the Temporal UI and ``refinire-flow runs``.

Upserted only when the client saw them registered on the server: upserting an unknown attribute
fails the workflow task, which would leave a run stuck.
"""

from __future__ import annotations

from temporalio import workflow

from .formats import FLOW_NAME, FLOW_STATUS, FLOW_STEP

__all__ = ["FLOW_NAME", "FLOW_STATUS", "FLOW_STEP", "resumed", "settled", "upsert_state"]


def settled(run_format: int, status: str) -> bool:
    """Whether a run of this format marks ``status`` with an upsert. From format 4 ``FlowStatus``
    holds only what ``ExecutionStatus`` cannot say: ``Waiting`` (for an answer), and with
    ``FlowStep`` where a run failed or was cancelled; a completed run upserts nothing."""
    return run_format < 4 or status not in ("Completed", "Running")


def resumed(run_format: int, step_name: str) -> None:
    """A wait ended: format 4 unsets ``FlowStatus`` and ``FlowStep``; earlier formats say Running."""
    if run_format < 4:
        upsert_state("Running", step_name)
    else:
        workflow.upsert_search_attributes([FLOW_STATUS.value_unset(), FLOW_STEP.value_unset()])


def upsert_state(status: str, step_name: str | None) -> None:
    """One upsert (one history event, one visibility write) for where the run is and how it is.

    Called when a run settles somewhere an operator may search for it: waiting for an answer,
    failed at a step, completed. Not on every step: each upsert is a visibility write, and per-step
    upserts cost a quarter of the throughput on the dev server (see docs/benchmarks.md). The step
    a running run is in is in its current details and its pending activity.
    """
    updates = [FLOW_STATUS.value_set(status)]
    if step_name:
        updates.append(FLOW_STEP.value_set(step_name))
    workflow.upsert_search_attributes(updates)
