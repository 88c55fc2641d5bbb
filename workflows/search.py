"""Search attributes that make runs findable in the Temporal UI and ``refinire-flow runs``.

Upserted only when the client saw them registered on the server: upserting an unknown attribute
fails the workflow task, which would leave a run stuck.
"""

from __future__ import annotations

from temporalio import workflow

from .formats import FLOW_NAME, FLOW_STATUS, FLOW_STEP

__all__ = ["FLOW_NAME", "FLOW_STATUS", "FLOW_STEP", "upsert_state"]


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
