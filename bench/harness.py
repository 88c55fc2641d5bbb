"""Running one run of ours or of the baseline, and the workers that execute them.

Ours goes through the real path: ``client.serving.worker.build_worker`` for the worker and
``client.running.start.start_run`` for the run, so the figures include everything a user's run pays.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from datetime import timedelta
from typing import AsyncIterator

from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from bench.baseline_activities import ACTIVITIES as BASELINE_ACTIVITIES
from bench.baseline_io import BASELINE_QUEUE, BASELINE_WORKFLOW, BaselineRun, StepOut
from bench.baseline_workflow import BaselineWorkflow
from client.running.start import start_run
from refinire import Flow
from client.serving.worker import SANDBOX_RUNNER


def baseline_worker(client: Client) -> Worker:
    """Same runner (sandbox and passthrough list), converter, cache and sticky settings as ours."""
    return Worker(client, task_queue=BASELINE_QUEUE, workflows=[BaselineWorkflow],
                  activities=BASELINE_ACTIVITIES, workflow_runner=SANDBOX_RUNNER, max_cached_workflows=1000,
                  sticky_queue_schedule_to_start_timeout=timedelta(seconds=3),
                  graceful_shutdown_timeout=timedelta(0))


@contextlib.asynccontextmanager
async def running(*workers: Worker) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(w.run()) for w in workers]
    try:
        yield
    finally:
        for w in workers:
            await w.shutdown()
        for t in tasks:
            with contextlib.suppress(BaseException):
                await t


async def ours(client: Client, flow: Flow, data: object = 0) -> tuple[float, str]:
    """Seconds from start request to result, and the run id."""
    t0 = time.perf_counter()
    handle = await start_run(client, flow.durable_name, flow, data, None, None)
    await handle.result()
    return time.perf_counter() - t0, handle.id


async def baseline_start(client: Client, steps: int) -> WorkflowHandle:
    return await client.start_workflow(
        BASELINE_WORKFLOW, BaselineRun(steps=steps), id=f"bench-baseline-{uuid.uuid4().hex[:12]}",
        task_queue=BASELINE_QUEUE, result_type=StepOut)


async def baseline(client: Client, steps: int) -> tuple[float, str]:
    t0 = time.perf_counter()
    handle = await baseline_start(client, steps)
    out = await handle.result()
    assert out.value == steps, out
    return time.perf_counter() - t0, handle.id
