"""In-process workers for ``flow.run``: one per (event loop, flow), shared by concurrent runs.

A script needs nothing else running. The worker lives while some run of the flow is being
awaited in this loop and is shut down when the last one returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from dataclasses import dataclass
from typing import AsyncIterator

from temporalio.client import Client
from temporalio.worker import Worker

from refinire.flow import Flow

from client.serving.logs import one_line_failures




@dataclass
class _Hosted:
    worker: Worker
    task: asyncio.Task
    refs: int = 0


_HOSTED: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Hosted]]" = (
    weakref.WeakKeyDictionary()
)


@contextlib.asynccontextmanager
async def hosting(client: Client, flow: Flow) -> AsyncIterator[asyncio.Task]:
    """Yield the worker's task: a run waits on its result and on this task, whichever ends first."""
    from client.serving.worker import build_worker

    # A script's in-process worker: a failed attempt is one line; the run's FlowExecutionError
    # carries the cause if it fails for good.
    one_line_failures()
    loop = asyncio.get_running_loop()
    table = _HOSTED.setdefault(loop, {})
    name = flow.register()
    entry = table.get(name)
    if entry is None or entry.task.done():
        worker = build_worker(client, flow)
        entry = _Hosted(worker, asyncio.create_task(worker.run(), name=f"refinire-worker:{name}"))
        table[name] = entry
    entry.refs += 1
    try:
        yield entry.task
    finally:
        entry.refs -= 1
        if entry.refs == 0 and table.get(name) is entry:
            del table[name]
            if not entry.task.done():
                await entry.worker.shutdown()
            with contextlib.suppress(BaseException):
                await entry.task
