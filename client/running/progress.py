"""What a run is doing now, read from Temporal: the one reader behind ``watch`` and the progress
that ``run``, ``rerun`` and ``flow.run`` show.

A look is a ``describe``: the run's status, the newest Temporal run of its continue-as-new chain
(``client/chain.py``: a long run is one workflow id) and its pending activities. A step's activity
id is ``<key>#<visit>``, so a pending one says which step runs and how many came before it, with its
attempt, maximum and last failure. When no step activity is pending (local steps, a condition, a
question waiting for an answer) two queries answered by a worker fill the gap, at most every
``QUERY_EVERY_S``: ``path`` (the steps this Temporal run entered, the last one current) and
``pending_question``. Queries are kept rare on purpose: each one is work for the worker that runs the
flow. The steps done by earlier Temporal runs of the chain are in the input of the newest one
(``FlowRun.visits``), read once per link from its first event, with the spec that names the steps. When no worker answers queries, a look still says what Temporal knows
(the step it holds) and whether any worker polls: a run's steps only move while one runs.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from temporalio.api.enums.v1 import PendingActivityState
from temporalio.client import Client, WorkflowExecutionDescription

from refinire.spec import FlowSpec
from workflows.formats import CHECKPOINT_ACTIVITY, parse_activity_id
from workflows.start import read_start

from client.history.listing import flow_from_id, run_started
from client.history.reader import failure_text

__all__ = ["Attempt", "Look", "RunWatcher", "failure_text"]

QUERY_TIMEOUT = timedelta(seconds=10)
"""A query waits for a worker; a look does not wait longer than this for one. Without a worker
polling the flow's queue a look asks nothing (``has_worker``); a worker that answers after the client gave up logs a warning, so this is
generous for a busy worker."""
QUERY_EVERY_S = 2.0
"""Queries are asked at most this often: while a step's activity is pending its description says
where the run is; queries serve the gaps (local steps, conditions, a waiting question)."""
"""A no-op activity that closes a workflow task after local steps: not a step."""


@dataclass(frozen=True)
class Attempt:
    """A step activity Temporal holds for the run now (one per running parallel branch)."""

    step: str
    """The step's name (``block/branch`` for a parallel branch)."""
    attempt: int
    max_attempts: int
    """0 when unlimited."""
    last_failure: str | None
    retrying: bool
    """Between two attempts: the last one failed and the next is scheduled."""
    key: str = ""
    """The step's key (of the parallel block, for a branch)."""
    visit: int | None = None
    """The run's step count when this step began (from the activity id)."""


@dataclass(frozen=True)
class Question:
    step: str
    question: str


@dataclass
class Look:
    """The run as one look at Temporal saw it."""

    run_id: str
    flow: str
    status: str
    """``running``, ``completed``, ``failed``, ``canceled``, ``terminated``, ``timed out``."""
    started: datetime | None = None
    closed: datetime | None = None
    step: str | None = None
    kind: str | None = None
    done: int | None = None
    """Steps finished over the whole run (every Temporal run of its chain), when a worker answered."""
    attempts: tuple[Attempt, ...] = ()
    question: Question | None = None
    worker: str = "answers"
    """``answers`` (a worker answered the queries), ``none`` (no worker polls the run's task queue:
    its steps wait until one does) or ``silent`` (a worker polled lately but did not answer: busy,
    or stopped in the last minutes)."""
    continuation: int = 0
    queue: str = ""

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def ended(self) -> bool:
        """The run is over (a Temporal run that continued as new is not: its chain goes on)."""
        return self.status not in ("running", "continued as new")

    def elapsed_s(self, now: datetime | None = None) -> float:
        if self.started is None:
            return 0.0
        end = self.closed or now or datetime.now(timezone.utc)
        return max(0.0, (end - self.started).total_seconds())


@dataclass
class _Link:
    """What one Temporal run of the chain started with (its first event)."""

    visits: int = 0
    continuation: int = 0
    flow: str = ""
    spec: FlowSpec | None = None


@dataclass
class RunWatcher:
    """Looks at one run, by its id, for as long as it is watched."""

    client: Client
    run_id: str
    _started: datetime | None = None
    _previous: Look | None = None
    _asked_at: float = float("-inf")
    _newest: tuple[str, _Link] | None = None
    """The newest Temporal run of the chain seen so far, and what it started with."""

    def steps_done(self, path: list[str]) -> int | None:
        """Steps of the whole run, given the ``path`` of its newest Temporal run (its result's)."""
        return None if self._newest is None else self._newest[1].visits + len(path)

    async def look(self) -> Look:
        """The run now.

        Raises:
            temporalio.service.RPCError: no such run, or Temporal cannot be reached.
        """
        desc = await self.client.get_workflow_handle(self.run_id).describe()
        link = await self._link(desc.run_id)
        if self._started is None:
            self._started = run_started(await _memo(desc)) or desc.start_time
        status = desc.status.name.lower().replace("_", " ") if desc.status is not None else "unknown"
        look = Look(self.run_id, link.flow or flow_from_id(self.run_id), status, self._started,
                    desc.close_time, continuation=link.continuation, queue=desc.task_queue)
        pending = list(desc.raw_description.pending_activities)
        look.attempts = tuple(_attempt(p, link.spec) for p in pending if p.activity_type.name != CHECKPOINT_ACTIVITY)
        if look.running:
            if look.attempts:  # the step Temporal holds, and its visit: no worker needed
                current = max(look.attempts, key=lambda a: a.visit or 0)
                look.step, look.kind = _named(link.spec, current.key)
                look.done = current.visit - 1 if current.visit else None
            else:
                await self._ask(look, link, desc)
                checkpoint = [parse_activity_id(p.activity_id).visit or 0 for p in pending if p.activity_type.name == CHECKPOINT_ACTIVITY]
                if checkpoint and max(checkpoint):  # local steps: closed after this many steps
                    look.done = max(checkpoint)
            if self._previous is not None and look.done is not None and self._previous.done is not None:
                look.done = max(look.done, self._previous.done)  # a cached answer is never news
            self._previous = look
        return look

    async def _ask(self, look: Look, link: _Link, desc: WorkflowExecutionDescription) -> None:
        """Step, steps done and question from the worker (queries), at most every ``QUERY_EVERY_S``;
        in between, what the last look knew."""
        now = time.monotonic()
        if now - self._asked_at < QUERY_EVERY_S and self._previous is not None:
            prev = self._previous
            look.step, look.kind, look.done, look.question, look.worker = (
                prev.step, prev.kind, prev.done, prev.question, prev.worker)
            return
        self._asked_at = now
        if not await has_worker(self.client, desc.task_queue):
            look.worker = "none"  # a query would wait for a worker that is not there
            return
        handle = self.client.get_workflow_handle(self.run_id, run_id=desc.run_id)  # the run described
        path, asked = await asyncio.gather(handle.query("path", rpc_timeout=QUERY_TIMEOUT),
                                           handle.query("pending_question", rpc_timeout=QUERY_TIMEOUT),
                                           return_exceptions=True)
        if isinstance(path, Exception) or isinstance(asked, Exception):
            look.worker = "silent" if await has_worker(self.client, desc.task_queue) else "none"
            return
        if path:
            look.step, look.kind = _named(link.spec, str(path[-1]))
            look.done = link.visits + len(path) - 1
        if isinstance(asked, dict) and asked.get("question") is not None:
            look.question = Question(str(asked.get("name") or asked.get("step") or look.step),
                                     str(asked["question"]))

    async def _link(self, temporal_run_id: str) -> _Link:
        if self._newest is None or self._newest[0] != temporal_run_id:
            self._newest = (temporal_run_id, await self._read_link(temporal_run_id))
        return self._newest[1]

    async def _read_link(self, temporal_run_id: str) -> _Link:
        handle = self.client.get_workflow_handle(self.run_id, run_id=temporal_run_id)
        async for event in handle.fetch_history_events(page_size=1):
            started = event.workflow_execution_started_event_attributes
            try:
                args = await self.client.data_converter.decode(list(started.input.payloads))
                run = read_start(args, started.workflow_type.name)
            except Exception:
                return _Link()
            return _Link(run.visits, run.continuation, run.flow_name, run.spec)
        return _Link()


async def has_worker(client: Client, queue: str) -> bool:
    """Whether some worker polls ``queue`` for workflow tasks (``True`` when it cannot tell)."""
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    try:
        resp = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
            namespace=client.namespace, task_queue=TaskQueue(name=queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW))
    except Exception:
        return True
    return bool(resp.pollers)


def _named(spec: FlowSpec | None, key: str) -> tuple[str, str | None]:
    step = spec.steps.get(key) if spec is not None else None
    return (step.name, step.kind) if step is not None else (key, None)


def _attempt(p: Any, spec: FlowSpec | None) -> Attempt:
    """A pending activity as the step it runs (ids: ``workflows.formats``)."""
    key, branch, visit = parse_activity_id(p.activity_id, (lambda k: k in spec.steps) if spec else None)
    name = _named(spec, key)[0]
    failure = failure_text(p.last_failure) if p.HasField("last_failure") else None
    retrying = p.state == PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED and p.attempt > 1
    return Attempt(f"{name}/{branch}" if branch else name, p.attempt, p.maximum_attempts, failure, retrying,
                   key, visit)


async def _memo(desc: WorkflowExecutionDescription) -> dict[str, Any]:
    try:
        return dict(await desc.memo())
    except Exception:
        return {}
