"""Search attributes that make runs findable in the Temporal UI and ``refinire-flow runs``.

Upserted only when the client saw them registered on the server: upserting an unknown attribute
fails the workflow task, which would leave a run stuck.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import SearchAttributeKey

FLOW_NAME = SearchAttributeKey.for_keyword("FlowName")
FLOW_STEP = SearchAttributeKey.for_keyword("FlowStep")
FLOW_STATUS = SearchAttributeKey.for_keyword("FlowStatus")
ALL = (FLOW_NAME, FLOW_STEP, FLOW_STATUS)


def upsert_step(step_name: str) -> None:
    workflow.upsert_search_attributes([FLOW_STEP.value_set(step_name)])


def upsert_status(status: str) -> None:
    workflow.upsert_search_attributes([FLOW_STATUS.value_set(status)])
