"""Tracing and the trace registry, as Refinire offers them, answered by Temporal.

``enable_console_tracing()`` makes every worker in this process (the in-process one ``flow.run``
hosts, or ``refinire-flow worker``) print a line when a step starts and finishes. The registry asks
Temporal's visibility which runs exist, so it knows runs from every process and every restart,
not only the ones this process started.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, Awaitable, Callable, TypeVar

__all__ = ["TraceRecord", "TraceRegistry", "disable_console_tracing", "enable_console_tracing",
           "enable_opentelemetry", "get_global_registry"]

_state: dict[str, Any] = {"console": False, "stream": None, "otel": False}
T = TypeVar("T")


def enable_console_tracing(stream: IO[str] | None = None) -> None:
    """Print one line per step start and finish from this process's workers (stdout by default)."""
    _state["console"], _state["stream"] = True, stream


def disable_console_tracing() -> None:
    _state["console"], _state["stream"] = False, None


def console_tracing_enabled() -> bool:
    return bool(_state["console"])


def console_stream() -> IO[str] | None:
    return _state["stream"]


def enable_opentelemetry() -> None:
    """Add temporalio's OpenTelemetry interceptor to workers built from now on (needs ``[otel]``)."""
    _state["otel"] = True


def opentelemetry_enabled() -> bool:
    return bool(_state["otel"])


@dataclass
class TraceRecord:
    trace_id: str
    """The run id (Temporal workflow id), or the id given to ``register_trace``."""
    flow_name: str | None = None
    status: str = "unknown"
    current_step: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    agent_names: list[str] = field(default_factory=list)
    tags: dict[str, Any] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return self.trace_id


def _blocking(make: Callable[[], Awaitable[T]]) -> T:
    """Refinire's registry is synchronous; answer from a private loop, even inside a running one."""
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["value"] = asyncio.run(make())
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=work, name="refinire-registry")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


class TraceRegistry:
    """Which runs exist for a flow (or agent) and in which state, from Temporal's visibility."""

    def __init__(self) -> None:
        self._local: dict[str, TraceRecord] = {}

    def register_trace(self, trace_id: str, flow_name: str | None = None,
                       agent_names: list[str] | None = None, tags: dict[str, Any] | None = None,
                       **metadata: Any) -> TraceRecord:
        record = TraceRecord(trace_id, flow_name, agent_names=list(agent_names or []),
                             tags={**(tags or {}), **metadata})
        self._local[trace_id] = record
        return record

    def get_trace(self, trace_id: str) -> TraceRecord | None:
        return _blocking(lambda: self.aget_trace(trace_id))

    def search_by_flow_name(self, flow_name: str, status: str | None = None,
                            limit: int | None = 100) -> list[TraceRecord]:
        return _blocking(lambda: self.asearch_by_flow_name(flow_name, status, limit))

    def search_by_agent_name(self, agent_name: str, limit: int | None = 100) -> list[TraceRecord]:
        return _blocking(lambda: self.asearch_by_agent_name(agent_name, limit))

    async def aget_trace(self, trace_id: str) -> TraceRecord | None:
        from client.connect import connect
        from client.runs import to_row

        local = self._local.get(trace_id)
        client = await connect(fresh=True)
        query = f"WorkflowId = '{trace_id}'"
        async for execution in client.list_workflows(query, limit=1):
            record = _from_row(to_row(execution))
            if local is not None:
                record.agent_names, record.tags = local.agent_names, local.tags
            return record
        return local

    async def asearch_by_flow_name(self, flow_name: str, status: str | None = None,
                                   limit: int | None = 100) -> list[TraceRecord]:
        from client.connect import connect
        from client.runs import list_runs

        client = await connect(fresh=True)
        rows = await list_runs(client, flow=flow_name, status=status, limit=limit)
        found = [_from_row(r) for r in rows]
        seen = {r.trace_id for r in found}
        found += [r for r in self._local.values() if r.flow_name == flow_name and r.trace_id not in seen]
        return found

    async def asearch_by_agent_name(self, agent_name: str, limit: int | None = 100) -> list[TraceRecord]:
        """Runs of every flow this process knows that has a step by that name (agents are steps)."""
        from . import _registry

        flows = [name for name in _registry.known()
                 if any(s.name == agent_name for s in _registry.get(name).spec.steps.values())]
        found: list[TraceRecord] = []
        for name in flows:
            found += await self.asearch_by_flow_name(name, limit=limit)
        seen = {r.trace_id for r in found}
        found += [r for r in self._local.values() if agent_name in r.agent_names and r.trace_id not in seen]
        for record in found:
            if agent_name not in record.agent_names:
                record.agent_names.append(agent_name)
        return found


def _from_row(row: Any) -> TraceRecord:
    return TraceRecord(row.run_id, row.flow, row.status, row.step, row.start, row.close)


_GLOBAL = TraceRegistry()


def get_global_registry() -> TraceRegistry:
    return _GLOBAL
