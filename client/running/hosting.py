"""In-process workers for ``flow.run``: one per (event loop, flow), shared by concurrent runs.

A script needs nothing else running. The worker lives while some run of the flow is being
awaited in this loop and stops polling when the last one returns (or on Ctrl-C); the steps it is
executing then get a window to finish (``draining.py``), whichever run they belong to.
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

from client.serving.inflight import InFlight
from client.serving.logs import one_line_failures, script_level

from .draining import drain, grace_s



@dataclass
class _Hosted:
    worker: Worker
    task: asyncio.Task
    tracked: InFlight
    window_s: float
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
    script_level()
    loop = asyncio.get_running_loop()
    table = _HOSTED.setdefault(loop, {})
    name = flow.register()
    entry = table.get(name)
    if entry is None or entry.task.done():
        tracked, window = InFlight(), grace_s()
        worker = build_worker(client, flow, graceful_shutdown_s=window, interceptors=[tracked])
        entry = _Hosted(worker, asyncio.create_task(worker.run(), name=f"refinire-worker:{name}"),
                        tracked, window)
        table[name] = entry
    entry.refs += 1
    try:
        yield entry.task
    finally:
        entry.refs -= 1
        if entry.refs == 0 and table.get(name) is entry:
            del table[name]
            await drain(entry.worker, entry.task, entry.tracked, entry.window_s)
