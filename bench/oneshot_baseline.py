"""The same 3-step flow as ``oneshot_ours.py`` written by hand with the SDK, as a one-shot script:
connect, run a worker for the workflow (its own module, as the SDK's samples do, since the sandbox
re-imports it) and the activity, execute the workflow, print, exit."""

import asyncio
import uuid

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.envconfig import ClientConfig
from temporalio.worker import Worker

from bench.baseline_activities import ACTIVITIES
from bench.baseline_io import BASELINE_WORKFLOW, BaselineRun, StepOut
from bench.baseline_workflow import BaselineWorkflow

QUEUE = "bench.oneshot-baseline"


async def main() -> None:
    client = await Client.connect(**ClientConfig.load_client_connect_config(),
                                  data_converter=pydantic_data_converter)
    async with Worker(client, task_queue=QUEUE, workflows=[BaselineWorkflow], activities=ACTIVITIES):
        out = await client.execute_workflow(BASELINE_WORKFLOW, BaselineRun(steps=3), result_type=StepOut,
                                            id=f"bench-oneshot-{uuid.uuid4().hex[:12]}", task_queue=QUEUE)
    print(out.value)


asyncio.run(main())
