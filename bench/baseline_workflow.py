"""The baseline: N steps written by hand as a Temporal workflow, with the retry policy and
timeouts our steps get by default, so the only difference left is our interpreter and Context."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from bench.baseline_io import BASELINE_WORKFLOW, BaselineRun, StepIn, StepOut
    from workflows.runtime import (
        DEFAULT_HEARTBEAT_S,
        DEFAULT_RETRY,
        DEFAULT_START_TO_CLOSE_S,
        retry_policy,
    )


@workflow.defn(name=BASELINE_WORKFLOW)
class BaselineWorkflow:
    @workflow.run
    async def run(self, run: BaselineRun) -> StepOut:
        value = run.value
        policy = retry_policy(DEFAULT_RETRY)
        timeout = timedelta(seconds=DEFAULT_START_TO_CLOSE_S)
        for _ in range(run.steps):
            out = await workflow.execute_activity(
                "bench.add_one", StepIn(value=value), result_type=StepOut,
                start_to_close_timeout=timeout, retry_policy=policy,
                heartbeat_timeout=timedelta(seconds=DEFAULT_HEARTBEAT_S))
            value = out.value
        return StepOut(value=value)
