"""A run's event history read as steps: which steps ran, with which context, and which way each
branch went. Rerun and replay both read a run this way; nothing here needs the flow's code."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter, PayloadConverter

from refinire.context import Context
from refinire.errors import FlowExecutionError
from refinire.spec import FlowSpec
from workflows.delta import ContextDelta, Views, apply, unpack
from workflows.io import DescribeFlowOutput, FlowRun
from workflows.start import read_start

from .chain import fetch_chain

DECISION_PREFIX = "decision:"


@dataclass
class StepEvent:
    """One thing a step did, in history order."""

    event_id: int
    kind: str
    """``activity`` (scheduled: ``context`` is the step's input), ``completed`` (``context`` is
    the step's output, or ``delta`` what it changed), ``decision`` (a branch taken: ``value``) or
    ``continued`` (a new Temporal run of the chain begins: ``context`` is exact there)."""
    step_key: str
    branch: str | None = None
    context: Context | None = None
    value: dict[str, Any] | None = None
    activity_type: str | None = None
    delta: ContextDelta | None = None


@dataclass
class RecordedRun:
    run_id: str
    run: FlowRun
    spec: FlowSpec | None
    steps: list[StepEvent] = field(default_factory=list)
    failure: dict[str, Any] | None = None
    failure_message: str | None = None
    closed: bool = False

    @property
    def failed_step(self) -> str | None:
        if self.failure is None:
            return None
        named = self.failure.get("step_key") or self.failure.get("step")
        if named:
            return named
        last = self.steps[-1] if self.steps else None
        return last.step_key if last is not None and last.kind in ("activity", "local") else None

    def step_key(self, name_or_key: str) -> str | None:
        """Users name steps by key or by their display name; both are accepted."""
        if self.spec is None or name_or_key in self.spec.steps:
            return name_or_key
        return next((k for k, s in self.spec.steps.items() if s.name == name_or_key), None)

    def reached(self) -> list[str]:
        seen: list[str] = []
        for e in self.steps:
            if e.kind != "completed" and e.step_key not in seen:
                seen.append(e.step_key)
        return seen


def split_activity_id(activity_id: str) -> tuple[str, str | None]:
    """``key#visit`` or ``block/branch#visit`` -> (key, branch)."""
    head = activity_id.rsplit("#", 1)[0]
    key, _, branch = head.partition("/")
    return key, branch or None


def _decode(conv: PayloadConverter, payloads: Any, type_hint: Any = None) -> Any:
    items = list(payloads.payloads) if hasattr(payloads, "payloads") else list(payloads)
    if not items:
        return None
    return conv.from_payload(items[0], type_hint)


def _context_of(value: Any) -> Context | None:
    if isinstance(value, dict) and isinstance(value.get("context"), dict):
        try:
            ctx = Context.model_validate(value["context"])
            views = value.get("views")
            return unpack(ctx, Views.model_validate(views) if isinstance(views, dict) else None)
        except Exception:
            return None
    return None


def _delta_of(value: Any) -> ContextDelta | None:
    if isinstance(value, dict) and isinstance(value.get("delta"), dict):
        try:
            return ContextDelta.model_validate(value["delta"]).decode()
        except Exception:
            return None
    return None


def parse(history: WorkflowHistory | list[WorkflowHistory], conv: PayloadConverter) -> RecordedRun:
    """One run read from its history, or from every history of its chain (oldest first)."""
    chain = history if isinstance(history, list) else [history]
    rec: RecordedRun | None = None
    for one in chain:
        rec = _parse_one(one, conv, rec)
    if rec is None:
        raise FlowExecutionError(f"Run {chain[0].workflow_id!r} has no start event; is it a Refinire run?")
    return rec


def _parse_one(history: WorkflowHistory, conv: PayloadConverter, rec: RecordedRun | None) -> RecordedRun | None:
    scheduled: dict[int, StepEvent] = {}
    for event in history.events:
        et = event.event_type
        if et == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            started = event.workflow_execution_started_event_attributes
            run = read_start([conv.from_payload(p) for p in started.input.payloads],
                             started.workflow_type.name)
            if rec is None:
                rec = RecordedRun(history.workflow_id, run, run.spec)
            else:
                ctx = run.context.model_copy(deep=True)
                ctx.result = run.input
                rec.steps.append(StepEvent(event.event_id, "continued", run.start_at or "",
                                           context=unpack(ctx, run.views)))
                rec.spec = rec.spec or run.spec
                rec.closed = False
        elif rec is None:
            continue
        elif et == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attrs = event.activity_task_scheduled_event_attributes
            if attrs.activity_type.name == "refinire.checkpoint":
                continue  # closes a batch of local steps; not a step
            key, branch = split_activity_id(attrs.activity_id)
            inp = _decode(conv, attrs.input)
            step = StepEvent(event.event_id, "activity", key, branch, _context_of(inp),
                             activity_type=attrs.activity_type.name)
            scheduled[event.event_id] = step
            rec.steps.append(step)
        elif et == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            attrs = event.activity_task_completed_event_attributes
            origin = scheduled.get(attrs.scheduled_event_id)
            if origin is not None:
                out = _decode(conv, attrs.result)
                rec.steps.append(StepEvent(event.event_id, "completed", origin.step_key, origin.branch,
                                           _context_of(out), activity_type=origin.activity_type,
                                           delta=_delta_of(out)))
        elif et == EventType.EVENT_TYPE_MARKER_RECORDED:
            _local_activity(rec, event, conv)
        elif et == EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED:
            fields = event.workflow_properties_modified_event_attributes.upserted_memo.fields
            for name, payload in fields.items():
                if name.startswith(DECISION_PREFIX):
                    rec.steps.append(StepEvent(event.event_id, "decision", name[len(DECISION_PREFIX):],
                                               value=conv.from_payload(payload)))
        elif et == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
            failure = event.workflow_execution_failed_event_attributes.failure
            rec.failure_message = failure.message
            details = failure.application_failure_info.details
            decoded = _decode(conv, details) if details.payloads else None
            rec.failure = decoded if isinstance(decoded, dict) else {}
            rec.closed = True
        elif et in _CLOSED:
            rec.closed = True
    return rec


_CLOSED = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
}


def _local_activity(rec: RecordedRun, event: Any, conv: PayloadConverter) -> None:
    """Local activities leave one marker at completion; their input is not recorded."""
    attrs = event.marker_recorded_event_attributes
    data = attrs.details.get("data")
    if data is None or not data.payloads:
        return
    try:
        meta = json.loads(data.payloads[0].data)
    except ValueError:
        return
    activity_id, activity_type = meta.get("activity_id"), meta.get("activity_type")
    if not activity_id or not activity_type:
        return
    result = attrs.details.get("result")
    out = _decode(conv, result) if result is not None and result.payloads else None
    if activity_type == "refinire.describe_flow" and rec.spec is None and isinstance(out, dict):
        rec.spec = DescribeFlowOutput.model_validate(out).spec
        return
    key, branch = split_activity_id(activity_id)
    rec.steps.append(StepEvent(event.event_id, "local", key, branch, activity_type=activity_type))
    if attrs.HasField("failure"):
        return
    rec.steps.append(StepEvent(event.event_id, "completed", key, branch, _context_of(out),
                               activity_type=activity_type, delta=_delta_of(out)))


async def load(client: Client, run_id: str) -> RecordedRun:
    """The run ``run_id`` (a workflow id), every Temporal run of its chain, decoded with the
    client's converter and codec (so sealed runs read as plainly as others)."""
    try:
        chain = await fetch_chain(client, run_id)
    except Exception as exc:
        raise FlowExecutionError(f"Cannot read run {run_id!r}: {exc}. List runs with "
                                 "`refinire-flow runs`.") from None
    return parse(chain, payload_reader(client.data_converter))


class _Opened(PayloadConverter):
    """The data converter's payload converter, after its codec opened the payload (sealed runs)."""

    def __init__(self, dc: DataConverter) -> None:
        self._conv = dc.payload_converter
        self._open = getattr(dc.payload_codec, "open", None)

    def to_payloads(self, values: Any) -> Any:
        return self._conv.to_payloads(values)

    def from_payloads(self, payloads: Any, type_hints: Any = None) -> Any:
        return self._conv.from_payloads([self._open(p) for p in payloads], type_hints)


def payload_reader(dc: DataConverter) -> PayloadConverter:
    """How a history's payloads are read: through the codec when there is one with a sync ``open``."""
    return _Opened(dc) if getattr(dc.payload_codec, "open", None) else dc.payload_converter
    from temporalio.api.history.v1 import History
    from temporalio.bridge.worker import decode_activation  # noqa: F401  (ensures bridge is loaded)
    from temporalio.converter import decode_history

    return history


def _after_step(ctx: Context, spec: FlowSpec | None, key: str) -> Context:
    """The workflow's own bookkeeping once a step is done (what the next step's input shows)."""
    ctx = ctx.model_copy(deep=True)
    name = spec.steps[key].name if spec is not None and key in spec.steps else key
    ctx.step_count += 1
    ctx.span_history.append({"step_name": name, "key": key, "status": "completed"})
    return ctx


def context_before(rec: RecordedRun, step_key: str) -> Context:
    """The run's context just before its last visit to ``step_key``.

    A remote activity records its input, which is exact. A condition or a local activity records
    none, so the context is the previous step's output plus the workflow's own bookkeeping.
    """
    ctx = rec.run.context.model_copy(deep=True)
    if ctx.result is None:
        ctx.result = rec.run.input
    ctx = unpack(ctx, rec.run.views)
    before: Context | None = None
    for e in rec.steps:
        if e.kind == "continued" and e.context is not None:
            ctx = e.context.model_copy(deep=True)
            continue
        if e.step_key == step_key and e.kind == "activity" and e.context is not None:
            before = e.context
        elif e.step_key == step_key and e.kind in ("decision", "local"):
            before = ctx
        if e.kind == "completed" and e.branch is None and e.delta is not None:
            ctx = _after_step(apply(ctx.model_copy(deep=True), e.delta), rec.spec, e.step_key)
        elif e.kind == "completed" and e.context is not None and e.branch is None:
            ctx = _after_step(e.context, rec.spec, e.step_key)
        elif e.kind == "decision":
            ctx = _after_step(ctx, rec.spec, e.step_key)
    if before is not None:
        return before.model_copy(deep=True)
    if rec.failed_step == step_key:
        return ctx
    raise FlowExecutionError(
        f"Run {rec.run_id!r} never reached step {step_key!r}, so there is no context to start it "
        f"from. Steps the run reached: {rec.reached()!r}")
