"""Turn the marks read from a run's history (step entries, activities, decisions, in event order)
into the run's steps, one per visit, in the order the run entered them.

A visit's number is in every activity id (``<key>#<visit>``); the ``FlowStep`` search-attribute
upserts, when present, give one mark per visit; a condition, which runs in the workflow, leaves only
its decision memo, so it takes the next visit number when no entry mark exists for it.
"""

from __future__ import annotations

from typing import Any

from refinire.rendering import display_name
from refinire.run_trace import ActivityTrace, Decision, RunTrace, StepRun
from refinire.spec import FlowSpec
from workflows.formats import NOT_STEPS, parse_activity_id

_ORDER = ("failed", "running", "canceled", "retried", "completed")


def assemble(trace: RunTrace, marks: list[tuple[str, Any]], inputs: dict[str, Any]) -> None:
    spec = trace.spec
    entries: dict[int, StepRun] = {}
    cursor = 0
    for kind, item in marks:
        if kind == "enter":
            name, at = item
            cursor += 1
            entries[cursor] = _new(spec, _key_for_name(spec, str(name)), cursor, at)
        elif kind == "activity":
            where = _locate(spec, item, inputs.get(item.activity_id))
            if where is None:
                continue
            key, branch, visit = where
            visit = visit or max(cursor, 1)
            cursor = max(cursor, visit)
            entry = entries.get(visit)
            if entry is None or entry.key != key:
                entries[visit] = entry = _new(spec, key, visit, item.scheduled_at,
                                              entry.started_at if entry else None)
            if branch is None:
                entry.activities.append(item)
            else:
                _branch(spec, entry, branch).activities.append(item)
        elif kind == "decision":
            cursor = _decide(spec, entries, cursor, item)
    _fill_gaps(spec, entries)
    trace.steps = [entries[v] for v in sorted(entries)]
    for i, step in enumerate(trace.steps, 1):
        step.index = i
        _roll_up(step, trace.status)
    for step, following in zip(trace.steps, trace.steps[1:]):
        if step.ended_at is None and not step.activities and not step.branches:
            step.ended_at = following.started_at
    _mark_run_failure(spec, trace)


def _new(spec: FlowSpec | None, key: str, visit: int, at: Any, first: Any = None) -> StepRun:
    step = spec.steps.get(key) if spec else None
    return StepRun(index=visit, key=key, name=step.name if step else key,
                   kind=step.kind if step else "unknown",
                   display=display_name(step) if step else "Step",
                   started_at=first or at, in_workflow=bool(step and step.kind == "condition"))


def _key_for_name(spec: FlowSpec | None, name: str) -> str:
    if spec is None or name in spec.steps:
        return name
    return next((k for k, s in spec.steps.items() if s.name == name), name)


def _locate(spec: FlowSpec | None, act: ActivityTrace, inp: Any) -> tuple[str, str | None, int | None] | None:
    """(step key, branch, visit) of an activity, from its id, else from its input."""
    if act.activity_type in NOT_STEPS:
        return None
    where = parse_activity_id(act.activity_id, lambda head: spec is None or head in spec.steps)
    if where.visit is not None:
        return where
    if isinstance(inp, dict):
        if inp.get("step_key"):
            return str(inp["step_key"]), inp.get("branch"), None
        call = inp.get("call")
        if isinstance(call, dict) and call.get("step"):
            parent, _, branch = str(call["step"]).rpartition("/")
            if parent:
                return _key_for_name(spec, parent), branch, None
            return _key_for_name(spec, branch), None, None
    return None


def _branch(spec: FlowSpec | None, entry: StepRun, name: str) -> StepRun:
    for b in entry.branches:
        if b.branch == name:
            return b
    block = spec.steps.get(entry.key) if spec else None
    bspec = next((b for b in getattr(block, "branches", ()) if b.name == name), None)
    b = StepRun(index=entry.index, key=entry.key, name=name, branch=name,
                kind=bspec.kind if bspec else "unknown", display=display_name(bspec) if bspec else "Step")
    entry.branches.append(b)
    order = [b.name for b in getattr(block, "branches", ())]
    entry.branches.sort(key=lambda s: order.index(s.branch) if s.branch in order else len(order))
    return b


def _decide(spec: FlowSpec | None, entries: dict[int, StepRun], cursor: int, d: Decision) -> int:
    step = spec.steps.get(d.step) if spec else None
    if step is not None and step.kind == "condition" and not d.value.startswith("error:"):
        entry = entries.get(cursor)
        if entry is None or entry.key != d.step or entry.decision is not None:
            cursor += 1
            entry = entries[cursor] = _new(spec, d.step, cursor, d.at)
        entry.decision, entry.ended_at = d, d.at
        return cursor
    for v in sorted(entries, reverse=True):  # the error handler's or an agent's own decision
        if entries[v].key == d.step:
            entries[v].decision = d
            break
    return cursor


def _fill_gaps(spec: FlowSpec | None, entries: dict[int, StepRun]) -> None:
    """A visit with no mark at all (a step that ran entirely in the workflow): the previous step's
    recorded decision or its successor in the spec says which step it was."""
    if spec is None or not entries:
        return
    for v in range(1, max(entries)):
        prev = entries.get(v - 1)
        if v in entries or prev is None:
            continue
        key = prev.decision.to if prev.decision else getattr(spec.steps.get(prev.key), "next", None)
        if key in spec.steps:
            entries[v] = _new(spec, key, v, None)


def _roll_up(step: StepRun, run_status: str) -> None:
    for b in step.branches:
        b.index = step.index
        _roll_up(b, run_status)
    parts: list[Any] = step.branches or step.activities
    for act in step.activities:
        if act.status == "running" and run_status != "Running":
            act.status = "canceled"
    if not parts:
        if run_status == "Running" and step.decision is None and not step.in_workflow:
            step.status = "running"
        return
    starts = [p.scheduled_at if isinstance(p, ActivityTrace) else p.started_at for p in parts]
    starts = [s for s in [step.started_at, *starts] if s is not None]
    ends = [p.closed_at if isinstance(p, ActivityTrace) else p.ended_at for p in parts]
    step.started_at = min(starts) if starts else None
    step.ended_at = max(e for e in ends if e is not None) if all(e is not None for e in ends) else None
    step.attempts = max(p.attempts if isinstance(p, StepRun) else p.attempt for p in parts)
    step.status = min((p.status for p in parts), key=_ORDER.index)
    failed = [p for p in parts if p.status == "failed"]
    if failed:
        f = failed[0]
        step.error = f.failure if isinstance(f, ActivityTrace) else f.error
    step.last_failure = next((p.last_failure for p in reversed(parts) if p.last_failure), None)
    step.scores = [x for p in parts for x in (p.scores if isinstance(p, StepRun) else [p.score])
                   if x is not None]
    step.score = step.scores[-1] if step.scores else None
    usages = [p.usage for p in parts if p.usage]
    if usages:
        step.usage = {k: sum(u.get(k, 0) for u in usages) for k in usages[0]}


def _mark_run_failure(spec: FlowSpec | None, trace: RunTrace) -> None:
    key = trace.failed_step
    if trace.status != "Failed" or not key:
        return
    last = trace.steps[-1] if trace.steps else None
    if last is not None and last.key == key:
        if last.status != "failed":
            last.status, last.error = "failed", trace.error
        return
    if spec is not None and key in spec.steps:
        step = _new(spec, key, len(trace.steps) + 1, trace.closed_at)
        step.status, step.error, step.ended_at = "failed", trace.error, trace.closed_at
        trace.steps.append(step)
