"""Which runs exist, from Temporal's visibility: the one place `runs`, `replay --flow` and the
trace registry ask, so they all agree on what a flow name and a status mean."""

from __future__ import annotations

import dataclasses

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, AsyncIterator

from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus

from refinire.errors import FlowExecutionError
from workflows.formats import AGENTS_MEMO, FLOW_NAME, FLOW_STATUS, FLOW_STEP, RUN_STARTED_MEMO, parse_activity_id
from workflows.io import TASK_QUEUE_PREFIX

STATUSES = {
    "running": "Running",
    "waiting": "Running",
    "completed": "Completed",
    "failed": "Failed",
    "canceled": "Canceled",
    "terminated": "Terminated",
    "timed_out": "TimedOut",
    "continued_as_new": "ContinuedAsNew",
}


async def _memo(execution: WorkflowExecution) -> dict[str, Any]:
    try:
        return dict(await execution.memo())
    except Exception:
        return {}


async def run_agents(execution: WorkflowExecution) -> tuple[str, ...]:
    """The agent names a run recorded in its memo when it started (none for older runs)."""
    value = (await _memo(execution)).get(AGENTS_MEMO)
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def run_started(memo: dict[str, Any]) -> datetime | None:
    """When a run began, from its memo: a long run's newest Temporal run started later."""
    try:
        return datetime.fromisoformat(str(memo[RUN_STARTED_MEMO]))
    except (KeyError, ValueError):
        return None


@dataclass(frozen=True)
class RunRow:
    run_id: str
    flow: str
    status: str
    step: str | None
    start: datetime
    close: datetime | None
    agents: tuple[str, ...] = ()
    """Names of the run's agent steps (``AGENTS_MEMO``)."""

    @property
    def duration_s(self) -> float:
        end = self.close or datetime.now(timezone.utc)
        return max(0.0, (end - self.start).total_seconds())


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def build_query(flow: str | None = None, status: str | None = None, *,
                started_after: datetime | None = None, started_before: datetime | None = None) -> str:
    # Every run of ours is on a ``refinire.<flow>`` task queue, whatever its workflow type: the
    # flow's name since format 3, ``RefinireFlow`` before.
    parts = [f"TaskQueue STARTS_WITH {_quote(TASK_QUEUE_PREFIX)}"]
    if started_after is not None:
        parts.append(f"StartTime >= {_quote(started_after.astimezone(timezone.utc).isoformat())}")
    if started_before is not None:
        parts.append(f"StartTime <= {_quote(started_before.astimezone(timezone.utc).isoformat())}")
    if flow:
        parts.append(f"{FLOW_NAME.name} = {_quote(flow)}")
    if status:
        key = status.lower()
        if key not in STATUSES:
            raise FlowExecutionError(f"Unknown status {status!r}. Known statuses: {list(STATUSES)!r}")
        parts.append(f"ExecutionStatus = {_quote(STATUSES[key])}")
        if key == "waiting":  # a running run that waits for an answer (FlowStatus, workflows.search)
            parts.append(f"{FLOW_STATUS.name} = 'Waiting'")
    else:
        # A long run is a chain of Temporal runs under one id: list it once, as its newest run.
        parts.append("ExecutionStatus != 'ContinuedAsNew'")
    return " AND ".join(parts)


def status_name(status: WorkflowExecutionStatus | None) -> str:
    if status is None:
        return "unknown"
    return status.name.lower()


def to_row(execution: WorkflowExecution, agents: tuple[str, ...] = (),
           started: datetime | None = None) -> RunRow:
    attrs = execution.typed_search_attributes
    flow = attrs.get(FLOW_NAME) or flow_from_id(execution.id)
    status = status_name(execution.status)
    if status == "running" and attrs.get(FLOW_STATUS) == "Waiting":
        status = "waiting"
    step = attrs.get(FLOW_STEP) if status in ("running", "waiting", "failed", "timed_out", "canceled") else None
    return RunRow(execution.id, flow, status, step, started or execution.start_time,
                  execution.close_time, agents)


def flow_from_id(run_id: str) -> str:
    """Runs started without our search attributes still name their flow in the default id."""
    head, sep, tail = run_id.rpartition("-")
    return head if sep and len(tail) == 12 else "?"


async def iter_runs(client: Client, flow: str | None = None, status: str | None = None,
                    limit: int | None = None, *, started_after: datetime | None = None,
                    started_before: datetime | None = None) -> AsyncIterator[WorkflowExecution]:
    query = build_query(flow, status, started_after=started_after, started_before=started_before)
    try:
        async for execution in client.list_workflows(query, limit=limit):
            yield execution
    except FlowExecutionError:
        raise
    except Exception as exc:
        hint = ""
        if flow and FLOW_NAME.name in str(exc):
            hint = (" The server does not know the FlowName search attribute: register it with the "
                    "command `refinire-flow search-attributes` prints.")
        raise FlowExecutionError(f"Listing runs with {query!r} failed: {exc}.{hint}") from None


async def list_runs(client: Client, flow: str | None = None, status: str | None = None,
                    limit: int | None = 20, *, started_after: datetime | None = None,
                    started_before: datetime | None = None) -> list[RunRow]:
    rows = []
    async for e in iter_runs(client, flow, status, limit, started_after=started_after,
                             started_before=started_before):
        memo = await _memo(e)
        agents = memo.get(AGENTS_MEMO)
        rows.append(to_row(e, tuple(str(v) for v in agents) if isinstance(agents, list) else (),
                           run_started(memo)))
    out = []
    for r in rows:
        if r.status == "running":
            step, task_attempt = await running_facts(client, r.run_id)
            # A workflow task on its second attempt or later failed (or its worker vanished) and
            # none completed since: the run cannot move. `show` says why.
            r = dataclasses.replace(r, step=r.step or step, status="stuck" if task_attempt > 1 else r.status)
        out.append(r)
    return out


async def find_run(client: Client, run_id: str) -> RunRow | None:
    """The row of one run, by its id (the newest Temporal run of its chain); ``None`` if unknown."""
    async for execution in client.list_workflows(f"WorkflowId = {_quote(run_id)}", limit=1):
        return to_row(execution, await run_agents(execution))
    return None


async def running_facts(client: Client, run_id: str) -> tuple[str | None, int]:
    """A running run's step from its pending activity (id ``<key>#<visit>...``: runs mark
    FlowStep only where they settle, to keep visibility writes off the per-step path), and the
    attempt of its pending workflow task (0 when none is pending)."""
    try:
        desc = await client.get_workflow_handle(run_id).describe()
    except Exception:
        return None, 0
    pending = desc.raw_description.pending_activities
    step = parse_activity_id(pending[0].activity_id).key if pending else None
    task = desc.raw_description.pending_workflow_task
    return step, task.attempt if desc.raw_description.HasField("pending_workflow_task") else 0


async def current_step(client: Client, run_id: str) -> str | None:
    return (await running_facts(client, run_id))[0]


def _when(value: datetime) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def duration(seconds: float) -> str:
    """``4.2s``, ``3m07s``, ``2h05m``."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def table_cells(rows: list[RunRow]) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """The header and the cells of the runs table, as text."""
    header = ("RUN ID", "FLOW", "STATUS", "STEP", "STARTED", "DURATION")
    return header, [(r.run_id, r.flow, r.status, r.step or "-", _when(r.start), duration(r.duration_s))
                    for r in rows]


def format_table(rows: list[RunRow]) -> str:
    header, body = table_cells(rows)
    widths = [max(len(str(c)) for c in col) for col in zip(header, *body)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(line, widths)).rstrip()
             for line in (header, *body)]
    return "\n".join(lines)


__all__ = ["RunRow", "STATUSES", "build_query", "duration", "find_run", "flow_from_id", "format_table", "iter_runs",
           "list_runs", "run_agents", "run_started", "table_cells", "to_row"]
