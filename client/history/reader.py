"""The one reader of a run's history: Temporal events in, one ``RunRecord`` (``record.py``) out.

Everything that looks back at a run reads it here: ``show`` draws it (``trace.py``), rerun finds
the context a step started from (``steps.py``), replay compares the decisions it recorded, and
a long run's result rebuilds its ledgers from it. The reader

- follows a run's continue-as-new chain (``chain.py``): one record for the whole run;
- decodes every payload and failure through the client's data converter, so runs sealed with
  ``REFINIRE_PAYLOAD_KEY`` read as plainly as others (with the key; without it, a payload reads as
  ``None``);
- parses the strings the workflow wrote (activity ids, memo keys) with ``workflows.formats``, the
  module that writes them.

The record keeps history order: ``marks`` holds, event by event, what a reader needs (an activity
scheduled and closed, a local activity's marker, a branch decision, a step entered, a new Temporal
run of the chain). Nothing here needs the flow's code.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterable

from temporalio.api.enums.v1 import EventType
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client
from temporalio.converter import DataConverter

from refinire.errors import FlowExecutionError
from refinire.spec import FlowSpec
from workflows.formats import DESCRIBE_ACTIVITY, FLOW_STATUS, FLOW_STEP, LOCAL_ACTIVITY_MARKER, decision_step
from workflows.io import FlowRun
from workflows.start import read_start

from .chain import fetch_chain
from .record import ActivityRecord, Mark, RunRecord

__all__ = ["ActivityRecord", "Mark", "RunRecord", "failure_text", "read_events", "read_run"]

# Event types as plain ints, read once: each ``EventType.X`` is a Python-level attribute lookup on
# the protobuf enum wrapper (microseconds), and the reader compares every event of a long chain.
_STARTED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
_UPSERT = EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
_PROPERTIES = EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED
_SCHEDULED = EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
_ACT_STARTED = EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
_ACT_COMPLETED = EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
_ACT_CANCELED = EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED
_MARKER = EventType.EVENT_TYPE_MARKER_RECORDED
_UPDATE_COMPLETED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED
_TASK_FAILED = EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
_TASK_COMPLETED = EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
_COMPLETED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
_FAILED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED
_TERMINATED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED

CLOSED = {
    _COMPLETED: "Completed",
    _FAILED: "Failed",
    _TERMINATED: "Terminated",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: "Canceled",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: "TimedOut",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: "ContinuedAsNew",
}
_ACTIVITY_CLOSE = {
    _ACT_COMPLETED: "activity_task_completed_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: "activity_task_failed_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: "activity_task_timed_out_event_attributes",
    _ACT_CANCELED: "activity_task_canceled_event_attributes",
}
_READ = frozenset({_STARTED, _UPSERT, _PROPERTIES, _SCHEDULED, _ACT_STARTED, _MARKER, _UPDATE_COMPLETED,
                   _TASK_FAILED, _TASK_COMPLETED, *_ACTIVITY_CLOSE, *CLOSED})


async def read_run(client: Client, run_id: str) -> RunRecord:
    """The run ``run_id`` (a workflow id), every Temporal run of its chain.

    Raises:
        FlowExecutionError: the run cannot be read (no such run, server unreachable); the message
            names the run, the namespace and how to list runs.
    """
    try:
        chain = await fetch_chain(client, run_id)
    except Exception as exc:
        raise FlowExecutionError(
            f"Cannot read the history of run {run_id!r} in namespace {client.namespace!r}: {exc}. "
            "Check the run id (`refinire-flow runs` lists them) and TEMPORAL_ADDRESS/TEMPORAL_NAMESPACE."
        ) from None
    return await read_events(client.data_converter, run_id, [list(h.events) for h in chain])


async def read_events(converter: DataConverter, run_id: str,
                      chain: Iterable[Iterable[HistoryEvent]]) -> RunRecord:
    """The record of a run from its events: one iterable per Temporal run of its chain, oldest first."""
    reader = _Reader(converter, RunRecord(run_id=run_id))
    n = 0
    for events in chain:
        await reader.read(events, first=n == 0)
        n += 1
    reader.rec.continuations = max(0, n - 1)
    return reader.rec


class _Reader:
    def __init__(self, dc: DataConverter, rec: RunRecord) -> None:
        self.dc, self.rec = dc, rec

    async def values(self, payloads: Any) -> list[Any]:
        """Payloads → plain JSON values, through the converter's codec; ``None`` where one cannot
        be read (a sealed payload without its key)."""
        items = list(payloads.payloads) if hasattr(payloads, "payloads") else list(payloads or ())
        if not items:
            return []
        try:
            return list(await self.dc.decode(items))
        except Exception as exc:
            self.rec.unreadable = self.rec.unreadable or f"{type(exc).__name__}: {exc}"
            return [None] * len(items)

    async def value(self, payloads: Any) -> Any:
        return (await self.values(payloads) or [None])[0]

    async def opened(self, failure: Failure) -> Failure:
        """A copy of ``failure`` decoded (message and stack trace where a reader looks)."""
        opened = Failure()
        opened.CopyFrom(failure)
        if self.dc.payload_codec is not None:
            try:
                await self.dc.payload_codec.decode_failure(opened)
            except Exception:
                pass
        _reveal(opened, self.dc)
        return opened

    async def failure(self, failure: Failure) -> tuple[str, dict[str, Any]]:
        """``Type: message`` of a failure (its cause's, for a bare activity error), and its details."""
        opened = await self.opened(failure)
        details: dict[str, Any] = {}
        if opened.HasField("application_failure_info") and opened.application_failure_info.details.payloads:
            try:
                got = self.dc.payload_converter.from_payloads(list(opened.application_failure_info.details.payloads))
                details = got[0] if got and isinstance(got[0], dict) else {}
            except Exception:
                details = {}
        return failure_text(opened), details

    async def _task_failure(self, failure: Failure) -> str:
        """A failed workflow task's failure and its causes, outermost first."""
        causes, f = [], failure
        while f is not None and f.message:
            causes.append((await self.failure(f))[0])
            f = f.cause if f.HasField("cause") else None
        return ("stuck: its workflow task keeps failing, so the run cannot move until a worker can "
                "process it: " + " ← ".join(causes))

    async def summary(self, ev: HistoryEvent) -> str | None:
        if ev.HasField("user_metadata") and ev.user_metadata.HasField("summary"):
            value = await self.value([ev.user_metadata.summary])
            return value if isinstance(value, str) else None
        return None

    async def read(self, events: Iterable[HistoryEvent], *, first: bool) -> None:
        rec = self.rec
        scheduled: dict[int, ActivityRecord] = {}
        for ev in events:
            et = ev.event_type
            if et not in _READ:
                continue  # workflow task scheduled/started and the like: nothing a reader needs
            at = ev.event_time.ToDatetime(tzinfo=timezone.utc)
            if et == _STARTED:
                await self._started(ev, at, first)
            elif et == _UPSERT:
                fields = ev.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
                # Older runs marked every step with a FlowStep-only upsert; newer runs upsert FlowStep
                # with FlowStatus where they settle (wait, fail, complete), which is not an entry.
                if FLOW_STEP.name in fields and FLOW_STATUS.name not in fields:
                    name = await self.value([fields[FLOW_STEP.name]])
                    rec.marks.append(Mark("entered", ev.event_id, at, step=str(name)))
                elif FLOW_STEP.name in fields and await self.value([fields[FLOW_STATUS.name]]) == "Waiting":
                    self._enter_wait(str(await self.value([fields[FLOW_STEP.name]])), ev.event_id, at)
            elif et == _PROPERTIES:
                memo = ev.workflow_properties_modified_event_attributes.upserted_memo.fields
                for name in memo:
                    step = decision_step(name)
                    value = await self.value([memo[name]]) if step is not None else None
                    if isinstance(value, dict):
                        rec.marks.append(Mark("decision", ev.event_id, at, step=step, decision=value))
            elif et == _SCHEDULED:
                a = ev.activity_task_scheduled_event_attributes
                act = ActivityRecord(ev.event_id, a.activity_id, a.activity_type.name,
                                     summary=await self.summary(ev), scheduled_at=at,
                                     input=await self.value(a.input))
                scheduled[ev.event_id] = act
                rec.marks.append(Mark("scheduled", ev.event_id, at, activity=act))
            elif et == _ACT_STARTED:
                a = ev.activity_task_started_event_attributes
                act = scheduled.get(a.scheduled_event_id)
                if act is not None:
                    act.attempt = a.attempt
                    if a.HasField("last_failure"):
                        act.last_failure = (await self.failure(a.last_failure))[0]
            elif et in _ACTIVITY_CLOSE:
                attr = getattr(ev, _ACTIVITY_CLOSE[et])
                act = scheduled.get(attr.scheduled_event_id)
                if act is None:
                    continue
                act.closed_at = at
                if et == _ACT_COMPLETED:
                    act.status, act.result = "completed", await self.value(attr.result)
                elif et == _ACT_CANCELED:
                    act.status = "canceled"
                else:
                    act.status, act.failure = "failed", (await self.failure(attr.failure))[0]
                rec.marks.append(Mark("closed", ev.event_id, at, activity=act))
            elif et == _MARKER:
                await self._marker(ev, at)
            elif et == _UPDATE_COMPLETED:
                await self._answered(ev, at)
            elif et == _TASK_FAILED:
                rec.stuck = await self._task_failure(ev.workflow_task_failed_event_attributes.failure)
            elif et == _TASK_COMPLETED:
                rec.stuck = None
            elif et in CLOSED:
                rec.status, rec.closed_at = CLOSED[et], at
                await self._closed(ev)

    async def _answered(self, ev: HistoryEvent, at: datetime) -> None:
        """A ``UserInputStep`` visit runs no activity: the accepted answer (the ``answer`` update's
        result) marks it, unless its ``Waiting`` upsert marked it already."""
        outcome = ev.workflow_execution_update_completed_event_attributes.outcome
        if not outcome.HasField("success"):
            return
        accepted = await self.value(outcome.success)
        rec = self.rec
        if not isinstance(accepted, dict) or rec.spec is None:
            return
        step = rec.spec.steps.get(str(accepted.get("step")))
        if step is not None:
            self._enter_wait(step.name, ev.event_id, at)

    def _enter_wait(self, name: str, event_id: int, at: datetime) -> None:
        """A ``UserInputStep``'s visit, marked once per wait (by its ``Waiting`` upsert when the
        run has search attributes, else by its accepted answer); other steps that wait (a
        ``ClarifyAgent``) run activities, which mark their visits."""
        rec = self.rec
        if rec.spec is None or not any(s.kind == "user_input" and s.name == name for s in rec.spec.steps.values()):
            return
        last = rec.marks[-1] if rec.marks else None
        if last is not None and last.kind == "entered" and last.step == name:
            return
        rec.marks.append(Mark("entered", event_id, at, step=name))

    async def _started(self, ev: HistoryEvent, at: datetime, first: bool) -> None:
        rec = self.rec
        a = ev.workflow_execution_started_event_attributes
        before = self.rec.unreadable
        args = await self.values(a.input)
        try:
            run = read_start(args, a.workflow_type.name) if args and self.rec.unreadable == before else None
        except Exception:
            run = None  # not a run of ours
        if first:
            rec.run, rec.started_at = run, at
            rec.temporal_run_id = a.original_execution_run_id
        else:
            rec.status, rec.closed_at = "Running", None
            rec.marks.append(Mark("continued", ev.event_id, at, run=run))
        if rec.spec is None and run is not None:
            rec.spec = run.spec

    async def _marker(self, ev: HistoryEvent, at: datetime) -> None:
        """A local activity leaves one marker when it completes; its input is not recorded."""
        a = ev.marker_recorded_event_attributes
        if a.marker_name != LOCAL_ACTIVITY_MARKER or "data" not in a.details:
            return
        data = await self.value(a.details["data"])
        if not isinstance(data, dict) or not data.get("activity_id") or not data.get("activity_type"):
            return
        result = await self.value(a.details["result"]) if "result" in a.details else None
        if data["activity_type"] == DESCRIBE_ACTIVITY:
            if self.rec.spec is None and isinstance(result, dict) and result.get("spec"):
                self.rec.spec = FlowSpec.model_validate(result["spec"])
            return
        scheduled, done = _timestamp(data.get("original_schedule_time")), _timestamp(data.get("complete_time")) or at
        act = ActivityRecord(ev.event_id, str(data["activity_id"]), str(data["activity_type"]), local=True,
                             summary=await self.summary(ev),
                             scheduled_at=min(scheduled, done) if scheduled else done, closed_at=done,
                             attempt=int(data.get("attempt") or 1))
        if a.HasField("failure"):
            act.status, act.failure = "failed", (await self.failure(a.failure))[0]
        else:
            act.status, act.result = "completed", result
        self.rec.marks.append(Mark("local", ev.event_id, at, activity=act))

    async def _closed(self, ev: HistoryEvent) -> None:
        rec = self.rec
        if ev.event_type == _COMPLETED:
            rec.result = await self.value(ev.workflow_execution_completed_event_attributes.result)
        elif ev.event_type == _FAILED:
            failure = ev.workflow_execution_failed_event_attributes.failure
            rec.failure, rec.failure_details = await self.failure(failure)
            rec.failure_trace = (await self.opened(failure)).stack_trace
        elif ev.event_type == _TERMINATED:
            reason = ev.workflow_execution_terminated_event_attributes.reason
            rec.failure = f"terminated{': ' + reason if reason else ''}"


def _reveal(failure: Failure, dc: DataConverter) -> None:
    """Sealed converters move a failure's message and stack trace into an encoded attribute (opened
    by the codec already): put them back where a reader looks, on the failure and each of its causes."""
    while True:
        if failure.HasField("encoded_attributes"):
            try:
                attrs = dc.payload_converter.from_payloads([failure.encoded_attributes])[0]
            except Exception:
                attrs = None
            if isinstance(attrs, dict) and isinstance(attrs.get("message"), str):
                failure.message = attrs["message"]
            if isinstance(attrs, dict) and isinstance(attrs.get("stack_trace"), str):
                failure.stack_trace = attrs["stack_trace"]
        if not failure.HasField("cause"):
            return
        failure = failure.cause


def failure_text(failure: Any) -> str:
    """``Type: message`` of a Temporal failure; a bare activity error reads as its cause."""
    kind = failure.application_failure_info.type if failure.HasField("application_failure_info") else ""
    if not kind and failure.HasField("timeout_failure_info"):
        kind = "TimeoutError"
    message = failure.message
    if failure.HasField("cause") and failure.cause.message and message in ("", "activity error"):
        return failure_text(failure.cause)
    return f"{kind}: {message}" if kind else message


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, dict) or "seconds" not in value:
        return None
    return datetime.fromtimestamp(int(value["seconds"]) + int(value.get("nanos", 0)) / 1e9, tz=timezone.utc)
