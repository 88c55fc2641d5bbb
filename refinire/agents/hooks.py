"""Hooks (``flow.add_hook``) around the agent steps of a durable run.

A function step's hooks run in its activity (``client/serving/hooks.py``). An agent step is several model
calls decided by the workflow, so its hooks are called by the worker running the workflow, when
the workflow starts the step (``before_step``), finishes it (``after_step``) or gives up on it
(``error``); never while the workflow replays its history, so once per execution of the step (a
worker that dies mid-step may call ``before_step`` again on the worker that takes over).

They must not change the run: each hook gets a copy of the context (changes are not kept) and its
return value is ignored. They run on one background thread of the worker, in order, outside the
workflow's sandbox (their I/O and clock are theirs); the workflow waits up to ``WAIT_S`` for them,
so quick hooks (logging, metrics) have finished before the run goes on, and a slow one finishes in
the background instead of holding the workflow.
"""

from __future__ import annotations

import concurrent.futures
import threading
from typing import Any, Callable

from refinire import registry
from refinire.context import Context

__all__ = ["WAIT_S", "has_hooks", "observe"]

WAIT_S = 1.0
"""How long the workflow waits for an agent step's hooks: well under Temporal's 2 s deadlock limit."""

_POOL: list[concurrent.futures.ThreadPoolExecutor] = []
_LOCK = threading.Lock()


def _pool() -> concurrent.futures.ThreadPoolExecutor:
    with _LOCK:
        if not _POOL:
            _POOL.append(concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="refinire-agent-hooks"))
        return _POOL[0]


def has_hooks(flow_name: str, hook: str) -> bool:
    flow = registry.get(flow_name)
    return flow is not None and bool(getattr(flow, f"{hook}_hooks", None))


def observe(flow_name: str, hook: str, step_name: str, ctx: Context,
            error: Callable[[], BaseException] | None = None) -> None:
    """Call the flow's ``hook`` hooks for an agent step on a copy of ``ctx`` (see the module)."""
    if not has_hooks(flow_name, hook):
        return
    flow = registry.get(flow_name)
    copy = ctx.model_copy(deep=True)
    args: tuple[Any, ...] = (step_name, copy)
    if hook == "after_step":
        args += (copy,)
    elif hook == "error":
        args += (error() if error is not None else RuntimeError("agent step failed"),)
    done = _pool().submit(flow.run_hooks, hook, *args)  # type: ignore[union-attr]
    try:
        done.result(timeout=WAIT_S)
    except concurrent.futures.TimeoutError:
        pass
