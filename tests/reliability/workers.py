"""Worker subprocesses that are known to be polling, and the figures the crash tests measure."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import time
from pathlib import Path

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

import procs
from workflows.io import task_queue_for

_QUEUE_TYPES = (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)


async def pollers(client: Client, flow_name: str) -> set[int]:
    """Pids of the worker processes polling both of a flow's queues (identity is ``pid@host``)."""
    found: list[set[int]] = []
    for kind in _QUEUE_TYPES:
        resp = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
            namespace=client.namespace, task_queue=TaskQueue(name=task_queue_for(flow_name)),
            task_queue_type=kind))
        found.append({int(p.identity.split("@")[0]) for p in resp.pollers if p.identity.split("@")[0].isdigit()})
    return found[0] & found[1]


async def start_polling(client: Client, modules: list[str], flow_name: str, log: Path,
                        deadline_s: float = 60, **env: str) -> subprocess.Popen:
    """A worker subprocess, returned once the server has seen it poll the flow's queues."""
    proc = procs.start_worker(modules, log, **env)
    end = time.monotonic() + deadline_s
    while proc.pid not in await pollers(client, flow_name):
        if proc.poll() is not None:
            raise AssertionError(f"worker exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        if time.monotonic() > end:
            procs.stop(proc)
            raise AssertionError(f"worker {proc.pid} never polled {flow_name!r}:\n{log.read_text()[-3000:]}")
        await asyncio.sleep(0.1)
    return proc


async def until(predicate, what: str, deadline_s: float = 60) -> None:
    """``procs.wait_for`` without blocking the event loop (the test's own workers live on it)."""
    end = time.monotonic() + deadline_s
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {deadline_s}s waiting for {what}")
        await asyncio.sleep(0.05)


async def until_async(check, what: str, deadline_s: float = 60) -> None:
    """``until`` for a check that must itself await (a history, a task queue)."""
    end = time.monotonic() + deadline_s
    while not await check():
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {deadline_s}s waiting for {what}")
        await asyncio.sleep(0.1)


def publish(name: str, samples: list[float]) -> dict:
    """Print a figure and, with REFINIRE_RELIABILITY_FIGURES set, append it to that JSON-lines file."""
    fig = {"figure": name, "trials": len(samples), "median_s": round(statistics.median(samples), 2),
           "max_s": round(max(samples), 2), "samples_s": [round(s, 2) for s in samples]}
    print("FIGURE", json.dumps(fig), flush=True)
    out = os.environ.get("REFINIRE_RELIABILITY_FIGURES")
    if out:
        with open(out, "a") as f:
            f.write(json.dumps(fig) + "\n")
    return fig
