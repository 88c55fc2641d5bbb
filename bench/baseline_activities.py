"""The baseline's activity: what a Temporal user writes by hand for a light step."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from temporalio import activity

from bench.baseline_io import StepIn, StepOut
from bench.steps import add_one

# Same treatment of sync user code as our step activity: off the worker's event loop.
_POOL = ThreadPoolExecutor(max_workers=64, thread_name_prefix="bench-baseline")


@activity.defn(name="bench.add_one")
async def add_one_activity(inp: StepIn) -> StepOut:
    loop = asyncio.get_running_loop()
    return StepOut(value=await loop.run_in_executor(_POOL, add_one, inp.value, None))


ACTIVITIES = [add_one_activity]
