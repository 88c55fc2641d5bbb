"""Read what a run did from Temporal's event history: the only record ``show()`` and the CLI trust.

It works from any process, after a worker crash or a server restart, because everything comes from
the history: the FlowSpec from the run's input, one activity per step (id ``<key>#<visit>``, a
parallel branch ``<key>/<branch>#<visit>``), the visit order from the ``FlowStep`` search-attribute
upserts when the server has them, and branch decisions from the ``decision:<step>`` memo upserts.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

from refinire._show import render_trace
from refinire._trace import ActivityTrace, Decision, RunTrace
from refinire.spec import FlowSpec
from workflows.start import read_start
from workflows.values import decode as decode_value

from ._history_steps import assemble
from .chain import fetch_chain

__all__ = ["ledgers", "load_run", "render_run", "trace_from_events"]

_CLOSED = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: "Completed",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: "Failed",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: "Terminated",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: "Canceled",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: "TimedOut",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: "ContinuedAsNew",
}
LOCAL_ACTIVITY_MARKER = "core_local_activity"


async def load_run(client: Client, run_id: str) -> RunTrace:
    """The run's trace. ``run_id`` is the workflow id (what ``flow.run`` reports as ``run_id``)."""
    handle = client.get_workflow_handle(run_id)
    try:
        chain = await fetch_chain(client, run_id)
    except Exception as exc:
        raise LookupError(
            f"Cannot read the history of run {run_id!r} in namespace {client.namespace!r}: {exc}. "
            "Check the run id (`refinire-flow runs` lists them) and TEMPORAL_ADDRESS/TEMPORAL_NAMESPACE."
        ) from None
    trace = await trace_from_events(client, run_id, [list(h.events) for h in chain])
    if trace.status == "Running":
        await _add_pending(handle, trace)
    return trace


def ledgers(trace: RunTrace) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A whole run's ``span_history`` and ``usage``, rebuilt from its history (every Temporal run
    of its chain): what a long run's result answers, since the workflow keeps neither across runs."""
    spans: list[dict[str, Any]] = []
    usage: list[dict[str, Any]] = []
    for step in trace.steps:
        if step.status not in ("completed", "retried"):
            continue
        spans.append({"step_name": step.name, "key": step.key, "status": "completed"})
        for part in [step, *step.branches]:
            for act in part.activities:
                if act.usage:
                    usage.append({"step": part.name, "key": step.key, "kind": act.activity_type,
                                  "attempt": act.attempt, **act.usage})
    return spans, usage


async def render_run(client: Client, run_id: str, format: str = "text") -> str:
    """What ``refinire-flow show RUN_ID`` prints: the run's graph with the run drawn over it."""
    return render_trace(await load_run(client, run_id), format)


async def trace_from_events(client: Client, run_id: str,
                            events: list[HistoryEvent] | list[list[HistoryEvent]]) -> RunTrace:
    """The trace of a run from its events: one list, or one list per Temporal run of its chain."""
    chain: list[list[HistoryEvent]] = events if events and isinstance(events[0], list) else [events]  # type: ignore[list-item,assignment]
    decode = _Decoder(client)
    trace = RunTrace(run_id=run_id)
    marks: list[tuple[str, Any]] = []
    inputs: dict[str, Any] = {}
    for i, run_events in enumerate(chain):
        await _read_run(decode, trace, run_events, marks, inputs, first=i == 0)
    trace.continuations = len(chain) - 1
    assemble(trace, marks, inputs)
    return trace


async def _read_run(decode: "_Decoder", trace: RunTrace, events: list[HistoryEvent],
                    marks: list[tuple[str, Any]], inputs: dict[str, Any], *, first: bool) -> None:
    by_scheduled: dict[int, ActivityTrace] = {}
    for ev in events:
        at = ev.event_time.ToDatetime(tzinfo=timezone.utc)
        et = ev.event_type
        if et == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED and not first:
            trace.status, trace.closed_at = "Running", None
        elif et == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            a = ev.workflow_execution_started_event_attributes
            trace.temporal_run_id = a.original_execution_run_id
            trace.started_at = at
            args = await decode.all(a.input.payloads)
            try:
                run = read_start(args, a.workflow_type.name) if args else None
            except ValueError:
                run = None  # not a run of ours
            if run is not None:
                trace.flow_name = run.flow_name
                trace.spec = run.spec
        elif et == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            fields = ev.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
            # Older runs marked every step with a FlowStep-only upsert; newer runs upsert FlowStep
            # with FlowStatus where they settle (wait, fail, complete), which is not an entry.
            if "FlowStep" in fields and "FlowStatus" not in fields:
                marks.append(("enter", (await decode.one(fields["FlowStep"]), at)))
        elif et == EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED:
            memo = ev.workflow_properties_modified_event_attributes.upserted_memo.fields
            for name in memo:
                if name.startswith("decision:"):
                    value = await decode.one(memo[name])
                    if isinstance(value, dict):
                        marks.append(("decision", Decision(step=name[len("decision:"):],
                                                           value=str(value.get("value")),
                                                           to=value.get("to"), at=at)))
        elif et == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            a = ev.activity_task_scheduled_event_attributes
            act = ActivityTrace(activity_id=a.activity_id, activity_type=a.activity_type.name,
                                summary=await _summary(decode, ev), scheduled_at=at)
            by_scheduled[ev.event_id] = act
            inputs[act.activity_id] = (await decode.all(a.input.payloads) or [None])[0]
            marks.append(("activity", act))
        elif et == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            a = ev.activity_task_started_event_attributes
            act = by_scheduled.get(a.scheduled_event_id)
            if act is not None:
                act.attempt = a.attempt
                if a.HasField("last_failure"):
                    act.last_failure = _failure_text(a.last_failure)
        elif et in _ACTIVITY_CLOSE:
            attr = getattr(ev, _ACTIVITY_CLOSE[et])
            act = by_scheduled.get(attr.scheduled_event_id)
            if act is None:
                continue
            act.closed_at = at
            if et == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                act.status = "retried" if act.attempt > 1 else "completed"
                _facts(act, inputs.get(act.activity_id), (await decode.all(attr.result.payloads) or [None])[0])
            elif et == EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
                act.status = "canceled"
            else:
                act.status = "failed"
                act.failure = _failure_text(attr.failure)
        elif et == EventType.EVENT_TYPE_MARKER_RECORDED:
            act = await _local_activity(decode, ev, at, inputs, trace)
            if act is not None:
                marks.append(("activity", act))
        elif et in _CLOSED:
            trace.status = _CLOSED[et]
            trace.closed_at = at
            await _closed(decode, ev, trace)


_ACTIVITY_CLOSE = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: "activity_task_completed_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: "activity_task_failed_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: "activity_task_timed_out_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED: "activity_task_canceled_event_attributes",
}


class _Decoder:
    """Payloads → plain JSON values, through the client's own converter (and codec, if any)."""

    def __init__(self, client: Client) -> None:
        self.dc = client.data_converter

    async def all(self, payloads: Any) -> list[Any]:
        if not payloads:
            return []
        try:
            return list(await self.dc.decode(list(payloads)))
        except Exception:
            return [None] * len(payloads)

    async def one(self, payload: Any) -> Any:
        return (await self.all([payload]) or [None])[0]


async def _summary(decode: _Decoder, ev: HistoryEvent) -> str | None:
    if ev.HasField("user_metadata") and ev.user_metadata.HasField("summary"):
        value = await decode.one(ev.user_metadata.summary)
        return value if isinstance(value, str) else None
    return None


def _failure_text(failure: Any) -> str:
    kind = failure.application_failure_info.type if failure.HasField("application_failure_info") else ""
    if not kind and failure.HasField("timeout_failure_info"):
        kind = "TimeoutError"
    message = failure.message
    if failure.HasField("cause") and failure.cause.message and message in ("", "activity error"):
        return _failure_text(failure.cause)
    return f"{kind}: {message}" if kind else message


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, dict) or "seconds" not in value:
        return None
    return datetime.fromtimestamp(int(value["seconds"]) + int(value.get("nanos", 0)) / 1e9, tz=timezone.utc)


async def _local_activity(decode: _Decoder, ev: HistoryEvent, at: datetime, inputs: dict[str, Any],
                          trace: RunTrace) -> ActivityTrace | None:
    a = ev.marker_recorded_event_attributes
    if a.marker_name != LOCAL_ACTIVITY_MARKER or "data" not in a.details:
        return None
    data = (await decode.all(a.details["data"].payloads) or [None])[0]
    if not isinstance(data, dict):
        return None
    result = (await decode.all(a.details["result"].payloads) or [None])[0] if "result" in a.details else None
    if data.get("activity_type") == "refinire.describe_flow":
        if trace.spec is None and isinstance(result, dict) and result.get("spec"):
            trace.spec = FlowSpec.model_validate(result["spec"])
        return None
    scheduled = _timestamp(data.get("original_schedule_time"))
    done = _timestamp(data.get("complete_time")) or at
    act = ActivityTrace(activity_id=str(data.get("activity_id", "")),
                        activity_type=str(data.get("activity_type", "")), local=True,
                        summary=await _summary(decode, ev),
                        scheduled_at=min(scheduled, done) if scheduled else done, closed_at=done,
                        attempt=int(data.get("attempt") or 1))
    if a.HasField("failure"):
        act.status, act.failure = "failed", _failure_text(a.failure)
    else:
        act.status = "retried" if act.attempt > 1 else "completed"
        _facts(act, None, result)
    return act


def _facts(act: ActivityTrace, inp: Any, result: Any) -> None:
    """Agent score and token usage, when the result carries them (agents' own results or a
    StepOutput's context, compared with the context the step started from)."""
    if not isinstance(result, dict):
        return
    if _number(result.get("score")):
        act.score = float(result["score"])
    usage = result.get("usage")
    if isinstance(usage, dict):
        act.usage = _tokens([usage])
    elif isinstance(usage, list):
        act.usage = _tokens(usage)
    out_ctx = result.get("context")
    if not isinstance(out_ctx, dict):
        return
    in_ctx = inp.get("context") if isinstance(inp, dict) and isinstance(inp.get("context"), dict) else {}
    evaluation = out_ctx.get("evaluation_result")
    if act.score is None and isinstance(evaluation, dict) and evaluation != in_ctx.get("evaluation_result") \
            and _number(evaluation.get("score")):
        act.score = float(evaluation["score"])
    if act.usage is None:
        new = (out_ctx.get("usage") or [])[len(in_ctx.get("usage") or []):]
        if new:
            act.usage = _tokens(new)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _tokens(entries: list[Any]) -> dict[str, int] | None:
    totals = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    seen = False
    for e in entries:
        if isinstance(e, dict):
            for k in totals:
                if _number(e.get(k)):
                    totals[k] += int(e[k])
                    seen = True
    return totals if seen else None


async def _closed(decode: _Decoder, ev: HistoryEvent, trace: RunTrace) -> None:
    if ev.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
        result = (await decode.all(ev.workflow_execution_completed_event_attributes.result.payloads) or [None])[0]
        if isinstance(result, dict):
            trace.output = decode_value(result.get("output"))
        return
    if ev.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
        failure = ev.workflow_execution_failed_event_attributes.failure
        trace.error = _failure_text(failure)
        details: dict[str, Any] = {}
        if failure.HasField("application_failure_info"):
            got = await decode.all(failure.application_failure_info.details.payloads)
            details = got[0] if got and isinstance(got[0], dict) else {}
        spec = trace.spec
        step = details.get("step_key") or details.get("step")
        if spec is not None and step not in spec.steps:
            step = next((k for k, s in spec.steps.items() if s.name == step), step)
        trace.failed_step = step
        if details.get("cause_type"):
            trace.error = f"{details['cause_type']}: {details.get('cause_message', '')}"
        return
    if ev.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
        reason = ev.workflow_execution_terminated_event_attributes.reason
        trace.error = f"terminated{': ' + reason if reason else ''}"


async def _add_pending(handle: Any, trace: RunTrace) -> None:
    """A running step's retries are not in the history yet; the server's description has them."""
    try:
        desc = await handle.describe()
    except Exception:
        return
    pending = {p.activity_id: p for p in desc.raw_description.pending_activities}
    for step in trace.steps:
        for s in [step, *step.branches]:
            for act in s.activities:
                p = pending.get(act.activity_id)
                if p is not None and act.closed_at is None:
                    act.attempt = max(act.attempt, p.attempt)
                    if p.HasField("last_failure"):
                        act.last_failure = _failure_text(p.last_failure)
                    s.attempts = max(s.attempts, act.attempt)
                    s.last_failure = act.last_failure or s.last_failure

