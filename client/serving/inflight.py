"""Which steps a worker is executing right now, so a worker that stops can say what it waits for.

An in-process worker (``flow.run`` in a script, ``refinire-flow run``) serves its flow's task
queue, so it may be executing a step of any run of that flow, not only its own, when it stops.
:class:`InFlight` is the worker interceptor that keeps the list: one entry per activity attempt
between its start and its end, and the attempts that ended cancelled (the worker's graceful
shutdown window ran out) once they have.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from .labels import step_label

__all__ = ["Attempt", "InFlight"]


@dataclass(frozen=True)
class Attempt:
    """One step attempt this worker executes: the step's name (``block/branch`` for a parallel
    branch), the run's id, the attempt number and the step's heartbeat timeout (``None``: none)."""

    step: str
    run_id: str
    attempt: int
    heartbeat_timeout: timedelta | None

    def __str__(self) -> str:
        return f"step {self.step!r} of run {self.run_id!r}"

    def retried_after(self) -> str:
        """When Temporal notices a lost attempt: after the heartbeat timeout, else start-to-close."""
        if self.heartbeat_timeout:
            return f"after its heartbeat timeout ({self.heartbeat_timeout.total_seconds():g} s)"
        return "after its start-to-close timeout"


class InFlight(Interceptor):
    """Add to one worker's interceptors; ``running()`` lists what it executes now."""

    def __init__(self) -> None:
        self._running: dict[int, Attempt] = {}
        self.cancelled: list[Attempt] = []
        """Attempts that ended cancelled (the worker stopped before they finished)."""

    def running(self) -> list[Attempt]:
        return list(self._running.values())

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Tracked(next, self)


class _Tracked(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, table: InFlight) -> None:
        super().__init__(next)
        self._table = table

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        _, step, _ = step_label(info, input.args[0] if input.args else None)
        attempt = Attempt(step, info.workflow_id, info.attempt, info.heartbeat_timeout)
        key = id(attempt)
        self._table._running[key] = attempt
        try:
            return await self.next.execute_activity(input)
        except asyncio.CancelledError:
            self._table.cancelled.append(attempt)
            raise
        finally:
            del self._table._running[key]
