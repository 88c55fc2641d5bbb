"""Tracing and the trace registry, as Refinire offers them, answered by Temporal.

``enable_console_tracing()`` makes every worker in this process (the in-process one ``flow.run``
hosts, or ``refinire-flow worker``) print a line when a step starts and finishes. The registry asks
Temporal's visibility which runs exist, so it knows runs from every process and every restart,
not only the ones this process started.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import IO, Any

from ._sync import blocking

__all__ = ["TraceMetadata", "TraceRecord", "TraceRegistry", "disable_console_tracing",
           "disable_opentelemetry", "disable_tracing", "enable_console_tracing", "enable_opentelemetry", "get_global_registry", "set_global_registry"]

_state: dict[str, Any] = {"console": False, "stream": None, "otel": False}


def enable_console_tracing(stream: IO[str] | None = None) -> None:
    """Print one line per step start and finish from this process's workers (stdout by default)."""
    _state["console"], _state["stream"] = True, stream


def disable_console_tracing() -> None:
    """Stop the per-step lines ``enable_console_tracing`` turned on (``disable_tracing`` too)."""
    _state["console"], _state["stream"] = False, None


disable_tracing = disable_console_tracing
"""Refinire's name for turning console tracing off."""


def console_tracing_enabled() -> bool:
    return bool(_state["console"])


def console_stream() -> IO[str] | None:
    return _state["stream"]


def enable_opentelemetry() -> None:
    """Trace steps with OpenTelemetry in workers built from now on (needs the ``otel`` extra).

    Each step attempt becomes a span named after the step, inside temporalio's ``RunActivity``
    span, and each model call a ``chat <model>`` span with its token counts (``client/serving/otel.py``).
    Spans go to the tracer provider the process configured (``opentelemetry.trace``).
    """
    _state["otel"] = True


def disable_opentelemetry() -> None:
    """Workers built from now on add no OpenTelemetry interceptor; model calls open no span."""
    _state["otel"] = False


def opentelemetry_enabled() -> bool:
    return bool(_state["otel"])


@dataclass
class TraceRecord:
    """One run (or one trace registered by hand): Refinire's ``TraceMetadata`` fields.

    For runs, everything comes from Temporal's visibility; ``status`` is the run's
    (``running``, ``completed``, ``failed``, ``canceled``, ``terminated``, ``timed_out``).
    """

    trace_id: str
    """The run id (Temporal workflow id), or the id given to ``register_trace``."""
    flow_name: str | None = None
    status: str = "unknown"
    current_step: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    agent_names: list[str] = field(default_factory=list)
    tags: dict[str, Any] = field(default_factory=dict)
    flow_id: str | None = None
    total_spans: int = 0
    error_count: int = 0
    artifacts: dict[str, Any] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        """The run's id (the trace id: a run's trace id is its Temporal workflow id)."""
        return self.trace_id

    @property
    def duration_seconds(self) -> float | None:
        """Seconds from start to end; ``None`` while the run has not ended."""
        if self.start_time is None or self.end_time is None:
            return None
        return max(0.0, (self.end_time - self.start_time).total_seconds())


TraceMetadata = TraceRecord
"""Refinire's name for a registry entry."""

_STATUS_ALIASES = {"error": "failed", "cancelled": "canceled"}
"""Refinire's trace statuses → Temporal's (a failed run is Refinire's ``"error"``)."""


def _status(status: str | None) -> str | None:
    return _STATUS_ALIASES.get(status.lower(), status.lower()) if status else None


def _aware(t: datetime | None) -> datetime | None:
    """Naive times are local time, as Refinire's ``datetime.now()``; visibility times are UTC."""
    return t.astimezone() if t is not None and t.tzinfo is None else t


class TraceRegistry:
    """Which runs exist and in which state, from Temporal's visibility, so it sees every run of
    every process and every restart; plus traces registered by hand in this process.

    Every ``search_*`` method is synchronous, as Refinire's; each has an ``a``-prefixed async twin
    to await inside an event loop. ``limit`` caps how many runs visibility is asked for.
    """

    def __init__(self, storage_path: str | None = None) -> None:
        self._local: dict[str, TraceRecord] = {}
        self.storage_path = storage_path

    @property
    def traces(self) -> dict[str, TraceRecord]:
        """Traces registered in this process (runs are found through the search methods)."""
        return self._local

    def register_trace(self, trace_id: str, flow_name: str | None = None, flow_id: str | None = None,
                       agent_names: list[str] | None = None, tags: dict[str, Any] | None = None,
                       **metadata: Any) -> TraceRecord:
        """Record a trace in this process (``flow.run`` does it for every flow).

        Args:
            trace_id: The trace's id.
            flow_name: The flow's name.
            flow_id: Refinire's flow id.
            agent_names: The agent steps' names (``search_by_agent_name`` finds them).
            tags: Free labels.
            **metadata: More free facts, kept with the record.

        Returns:
            The record, status ``"running"``.
        """
        record = TraceRecord(trace_id, flow_name, status="running", start_time=datetime.now().astimezone(),
                             agent_names=list(agent_names or []), tags={**(tags or {}), **metadata},
                             flow_id=flow_id)
        self._local[trace_id] = record
        return record

    def update_trace(self, trace_id: str, status: str | None = None, total_spans: int | None = None,
                     error_count: int | None = None, artifacts: dict[str, Any] | None = None,
                     add_agent_names: list[str] | None = None,
                     add_tags: dict[str, Any] | None = None) -> None:
        """Update a trace registered in this process (unknown ids are ignored, as in Refinire)."""
        record = self._local.get(trace_id)
        if record is None:
            return
        if status:
            record.status = status
            if status in ("completed", "error", "failed"):
                record.end_time = datetime.now().astimezone()
        if total_spans is not None:
            record.total_spans = total_spans
        if error_count is not None:
            record.error_count = error_count
        record.artifacts.update(artifacts or {})
        record.agent_names = list(dict.fromkeys([*record.agent_names, *(add_agent_names or [])]))
        record.tags.update(add_tags or {})

    # Synchronous, as Refinire's ------------------------------------------------------------
    def get_trace(self, trace_id: str) -> TraceRecord | None:
        """The run (or trace registered here) with this id; ``None`` when there is none.

        Raises:
            FlowExecutionError: Temporal could not be reached.
        """
        return blocking(lambda: self.aget_trace(trace_id))

    def search_by_flow_name(self, flow_name: str, exact_match: bool = True, *, status: str | None = None,
                            limit: int | None = 100) -> list[TraceRecord]:
        """Runs of a flow (exactly that name, or names containing it with ``exact_match=False``)."""
        return blocking(lambda: self.asearch_by_flow_name(flow_name, exact_match, status=status, limit=limit))

    def search_by_agent_name(self, agent_name: str, exact_match: bool = True, *,
                             limit: int | None = 100) -> list[TraceRecord]:
        """Runs with an agent step of that name (or containing it with ``exact_match=False``)."""
        return blocking(lambda: self.asearch_by_agent_name(agent_name, exact_match, limit=limit))

    def search_by_status(self, status: str, *, limit: int | None = 100) -> list[TraceRecord]:
        """Runs in a status (``"error"`` means failed, as in Refinire)."""
        return blocking(lambda: self.asearch(status=status, limit=limit))

    def search_by_time_range(self, start_time: datetime | None = None, end_time: datetime | None = None,
                             *, limit: int | None = 100) -> list[TraceRecord]:
        """Runs started between ``start_time`` and ``end_time`` (naive times are local time)."""
        return blocking(lambda: self.asearch(start_time=start_time, end_time=end_time, limit=limit))

    def search_by_tags(self, tags: dict[str, Any], match_all: bool = True) -> list[TraceRecord]:
        """Traces registered in this process with these tags (runs carry no tags)."""
        test = all if match_all else any
        return [r for r in self._local.values() if test(r.tags.get(k) == v for k, v in tags.items())]

    def get_all_traces(self, *, limit: int | None = 100) -> list[TraceRecord]:
        """Every run (at most ``limit``), newest first, then traces registered here."""
        return blocking(lambda: self.asearch(limit=limit))

    def get_recent_traces(self, hours: int = 24, *, limit: int | None = 100) -> list[TraceRecord]:
        """Runs started in the last ``hours`` hours (at most ``limit``), newest first."""
        return self.search_by_time_range(datetime.now().astimezone() - timedelta(hours=hours), limit=limit)

    def complex_search(self, flow_name: str | None = None, agent_name: str | None = None,
                       tags: dict[str, Any] | None = None, status: str | None = None,
                       start_time: datetime | None = None, end_time: datetime | None = None,
                       max_results: int | None = None) -> list[TraceRecord]:
        """Every criterion at once (all must hold)."""
        found = (self.search_by_agent_name(agent_name, limit=max_results) if agent_name else
                 blocking(lambda: self.asearch(flow_name=flow_name, status=status, start_time=start_time,
                                               end_time=end_time, limit=max_results)))
        keep = [r for r in found if _matches(r, flow_name, status, start_time, end_time)]
        if tags:
            keep = [r for r in keep if all(r.tags.get(k) == v for k, v in tags.items())]
        return keep[:max_results] if max_results else keep

    def get_statistics(self, *, limit: int | None = 1000) -> dict[str, Any]:
        """How many runs, by status and by flow, among the last ``limit``."""
        found = self.get_all_traces(limit=limit)
        by_status: dict[str, int] = {}
        by_flow: dict[str, int] = {}
        for r in found:
            by_status[r.status] = by_status.get(r.status, 0) + 1
            by_flow[r.flow_name or "?"] = by_flow.get(r.flow_name or "?", 0) + 1
        return {"total_traces": len(found), "status_distribution": by_status,
                "flow_distribution": by_flow}

    # Async twins ---------------------------------------------------------------------------
    async def aget_trace(self, trace_id: str) -> TraceRecord | None:
        """``get_trace``, to await inside an event loop."""
        from client.api import find_run

        local = self._local.get(trace_id)
        row = await find_run(trace_id)
        if row is None:
            return local
        record = _from_row(row)
        if local is not None:
            record.agent_names = list(dict.fromkeys([*record.agent_names, *local.agent_names]))
            record.tags = local.tags
        return record

    async def asearch(self, flow_name: str | None = None, status: str | None = None,
                      start_time: datetime | None = None, end_time: datetime | None = None,
                      limit: int | None = 100) -> list[TraceRecord]:
        """Runs matching every criterion given, newest first, then matching local traces."""
        from client.api import list_runs

        rows = await list_runs(flow=flow_name, status=_status(status), limit=limit,
                               started_after=_aware(start_time), started_before=_aware(end_time))
        found = [_from_row(r) for r in rows]
        seen = {r.trace_id for r in found}
        found += [r for r in self._local.values() if r.trace_id not in seen
                  and _matches(r, flow_name, status, start_time, end_time)]
        return found

    async def asearch_by_flow_name(self, flow_name: str, exact_match: bool = True, *,
                                   status: str | None = None, limit: int | None = 100) -> list[TraceRecord]:
        """``search_by_flow_name``, to await inside an event loop."""
        if exact_match:
            return await self.asearch(flow_name=flow_name, status=status, limit=limit)
        found = await self.asearch(status=status, limit=limit)
        return [r for r in found if r.flow_name and flow_name.lower() in r.flow_name.lower()]

    async def asearch_by_agent_name(self, agent_name: str, exact_match: bool = True, *,
                                    limit: int | None = 100) -> list[TraceRecord]:
        """Runs with an agent step by that name, whichever process started them, newest first.

        A run records its agent steps' names in its memo when it starts, so the latest ``limit``
        runs are searched by that. Runs started before names were recorded are found through the
        flows this process knows (any step by that name), and traces registered here by their
        ``agent_names``.
        """
        from . import registry

        def named(name: str) -> bool:
            return name == agent_name if exact_match else agent_name.lower() in name.lower()

        found = [r for r in await self.asearch(limit=limit)
                 if r.trace_id not in self._local and any(named(a) for a in r.agent_names)]
        seen = {r.trace_id for r in found}
        flows = [name for name in registry.known()
                 if any(named(s.name) for s in registry.get(name).spec.steps.values())]
        for name in flows:
            for record in await self.asearch(flow_name=name, limit=limit):
                if record.trace_id not in seen and record.trace_id not in self._local:
                    seen.add(record.trace_id)
                    found.append(record)
        found += [r for r in self._local.values()
                  if any(named(a) for a in r.agent_names) and r.trace_id not in seen]
        for record in found:
            if not any(named(a) for a in record.agent_names):
                record.agent_names.append(agent_name)
        return found


def _matches(r: TraceRecord, flow_name: str | None, status: str | None, start: datetime | None,
             end: datetime | None) -> bool:
    if flow_name and r.flow_name != flow_name:
        return False
    if status and _status(r.status) != _status(status):
        return False
    begun = _aware(r.start_time)
    if start is not None and (begun is None or begun < _aware(start)):
        return False
    return not (end is not None and (begun is None or begun > _aware(end)))


def _from_row(row: Any) -> TraceRecord:
    return TraceRecord(row.run_id, row.flow, row.status, row.step, row.start, row.close,
                       agent_names=list(row.agents), flow_id=row.run_id)


_GLOBAL: list[TraceRegistry] = [TraceRegistry()]


def get_global_registry() -> TraceRegistry:
    """The registry flows register their traces in (``set_global_registry`` replaces it)."""
    return _GLOBAL[0]


def set_global_registry(registry: TraceRegistry) -> None:
    """Make ``registry`` the one ``get_global_registry()`` returns (flows register there)."""
    _GLOBAL[0] = registry
