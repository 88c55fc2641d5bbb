"""A run's record read as steps with their contexts: which steps ran, with which context, and which
way each branch went. Rerun starts a step from the context recorded here; replay compares the
decisions and the steps the run reached with the code. Nothing here needs the flow's code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from refinire.context import Context
from refinire.errors import FlowExecutionError
from refinire.spec import FlowSpec
from workflows.delta import ContextDelta, Views, apply, unpack

from .record import RunRecord

__all__ = ["StepEvent", "StepNotReached", "context_before", "step_events"]


class StepNotReached(FlowExecutionError):
    """The run never reached the step: there is no context to start it from (rerun ``--from``)."""


@dataclass
class StepEvent:
    """One thing a step did, in history order."""

    event_id: int
    kind: str
    """``activity`` (scheduled: ``context`` is the step's input), ``local`` (a local activity: no
    input recorded), ``completed`` (``context`` is the step's output, or ``delta`` what it changed),
    ``decision`` (a branch taken: ``value``), ``waited`` (a ``UserInputStep`` began to wait: it runs
    no activity) or ``continued`` (a new Temporal run of the chain
    begins: ``context`` is exact there)."""
    step_key: str
    branch: str | None = None
    context: Context | None = None
    value: dict[str, Any] | None = None
    activity_type: str | None = None
    delta: ContextDelta | None = None


def step_events(rec: RunRecord) -> list[StepEvent]:
    """The record's steps, activities split into their start and their completion."""
    out: list[StepEvent] = []
    for m in rec.marks:
        act = m.activity
        if m.kind == "continued" and m.run is not None:
            ctx = m.run.context.model_copy(deep=True)
            ctx.result = m.run.input
            out.append(StepEvent(m.event_id, "continued", m.run.start_at or "",
                                 context=unpack(ctx, m.run.views)))
        elif m.kind == "decision":
            out.append(StepEvent(m.event_id, "decision", m.step or "", value=m.decision))
        elif rec.waited_at(m) is not None:
            out.append(StepEvent(m.event_id, "waited", rec.waited_at(m) or ""))
        elif act is None or not act.is_step:
            continue
        else:
            key, branch, _ = act.where()
            if m.kind == "scheduled":
                out.append(StepEvent(m.event_id, "activity", key, branch, _context_of(act.input),
                                     activity_type=act.activity_type))
            elif m.kind == "local":
                out.append(StepEvent(m.event_id, "local", key, branch, activity_type=act.activity_type))
            if (m.kind == "closed" or m.kind == "local") and act.status == "completed":
                out.append(StepEvent(m.event_id, "completed", key, branch, _context_of(act.result),
                                     activity_type=act.activity_type, delta=_delta_of(act.result)))
    return out


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


def _after_step(ctx: Context, spec: FlowSpec | None, key: str) -> Context:
    """The workflow's own bookkeeping once a step is done (what the next step's input shows), on
    ``ctx`` in place."""
    name = spec.steps[key].name if spec is not None and key in spec.steps else key
    ctx.step_count += 1
    ctx.span_history.append({"step_name": name, "key": key, "status": "completed"})
    return ctx


def _advance(ctx: Context, e: StepEvent, spec: FlowSpec | None) -> Context:
    """The context after ``e``, from the context before it. ``ctx`` is the caller's own (it is
    changed in place, so a run costs one copy, not one per step); the events' contexts come from
    ``step_events``, fresh objects nobody else holds, so they may be taken over."""
    if e.kind == "continued" and e.context is not None:
        return e.context
    if e.kind == "completed" and e.branch is None and e.delta is not None:
        return _after_step(apply(ctx, e.delta), spec, e.step_key)
    if e.kind == "completed" and e.context is not None and e.branch is None:
        return _after_step(e.context, spec, e.step_key)
    if e.kind == "decision":
        return _after_step(ctx, spec, e.step_key)
    return ctx


def _visits(e: StepEvent, step_key: str) -> bool:
    """``e`` is a visit to ``step_key`` that says which context the step started from."""
    return e.step_key == step_key and ((e.kind == "activity" and e.context is not None)
                                       or e.kind in ("decision", "local", "waited"))


def context_before(rec: RunRecord, step_key: str) -> Context:
    """The run's context just before its last visit to ``step_key``.

    A remote activity records its input, which is exact. A condition, a local activity or a
    ``UserInputStep``'s wait records none, so the context is the previous step's output plus the
    workflow's own bookkeeping, rebuilt from the nearest exact context before it (the start of the
    chain's Temporal run that holds the visit): the cost is one pass over the run's steps, whatever
    its length.

    Raises:
        StepNotReached: the run never reached ``step_key`` (the message lists the steps it did).
    """
    run = rec.require_run()
    events = step_events(rec)
    visit = next((i for i in range(len(events) - 1, -1, -1) if _visits(events[i], step_key)), None)
    if visit is None and rec.failed_step != step_key:
        raise StepNotReached(
            f"Run {rec.run_id!r} never reached step {step_key!r}, so there is no context to start it "
            f"from: rerun from a step it reached. Steps the run reached: {rec.reached()!r}")
    if visit is not None and events[visit].kind == "activity":
        return events[visit].context.model_copy(deep=True)  # type: ignore[union-attr]
    end = len(events) if visit is None else visit
    start = next((i for i in range(end - 1, -1, -1)
                  if events[i].kind == "continued" and events[i].context is not None), None)
    if start is None:
        ctx = run.context.model_copy(deep=True)
        if ctx.result is None:
            ctx.result = run.input
        ctx = unpack(ctx, run.views)
        start = -1
    else:
        ctx = events[start].context  # type: ignore[assignment]
    for e in events[start + 1:end]:
        ctx = _advance(ctx, e, rec.spec)
    return ctx
