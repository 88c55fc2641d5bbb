"""``show``'s view of a run: its record (``reader.py``) as a ``RunTrace``, steps in visit order.

It works from any process, after a worker crash or a server restart, because everything comes from
the history: the FlowSpec from the run's input, one activity per step, the visit order from the
activity ids and the ``FlowStep`` upserts older runs made, and branch decisions from the
``decision:<step>`` memo upserts (formats in ``workflows.formats``).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from temporalio.client import Client

from client.connection.connect import connect

from refinire.rendering_run import render_trace
from refinire.run_trace import ActivityTrace, Decision, RunTrace
from workflows.values import decode as decode_value

from .reader import ActivityRecord, RunRecord, failure_text, read_run
from .visits import assemble

__all__ = ["ledgers", "load_trace", "load_trace_sync", "render_run", "trace_of"]


async def load_trace(client: Client, run_id: str) -> RunTrace:
    """The run's trace. ``run_id`` is the workflow id (what ``flow.run`` reports as ``run_id``).

    Raises:
        FlowExecutionError: the run cannot be read (see ``reader.read_run``).
    """
    rec = await read_run(client, run_id)
    trace = trace_of(rec)
    if trace.status == "Running":
        await _add_pending(client, trace)
        trace.error = trace.error or rec.stuck
    return trace


def load_trace_sync(run_id: str) -> RunTrace:
    """``load_trace`` from a plain function, even one called inside a running event loop
    (``flow.show()`` is synchronous): a thread with its own loop and its own client reads it."""
    box: dict[str, Any] = {}

    def work() -> None:
        async def fetch() -> RunTrace:
            return await load_trace(await connect(fresh=True), run_id)

        try:
            box["trace"] = asyncio.run(fetch())
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=work, name=f"refinire-show:{run_id}", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["trace"]


def trace_of(rec: RunRecord) -> RunTrace:
    """The trace of a run from its record."""
    trace = RunTrace(run_id=rec.run_id, temporal_run_id=rec.temporal_run_id, flow_name=rec.flow_name,
                     spec=rec.spec, status=rec.status, started_at=rec.started_at,
                     closed_at=rec.closed_at, error=rec.failure, continuations=rec.continuations)
    if rec.status == "Completed" and isinstance(rec.result, dict):
        trace.output = decode_value(rec.result.get("output"))
    if rec.status == "Failed":
        details = rec.failure_details
        step = details.get("step_key") or details.get("step")
        trace.failed_step = rec.step_key(step) or step
        trace.error_trace = rec.failure_trace
        if details.get("cause_type"):
            trace.error = f"{details['cause_type']}: {details.get('cause_message', '')}"
    marks: list[tuple[str, Any]] = []
    inputs: dict[str, Any] = {}
    for m in rec.marks:
        if m.kind == "entered":
            marks.append(("enter", (m.step, m.at)))
        elif m.kind == "decision" and m.decision is not None:
            marks.append(("decision", Decision(step=m.step or "", value=str(m.decision.get("value")),
                                               to=m.decision.get("to"), at=m.at)))
        elif m.kind in ("scheduled", "local") and m.activity is not None:
            act = _activity(m.activity)
            inputs[act.activity_id] = m.activity.input
            marks.append(("activity", act))
    assemble(trace, marks, inputs)
    return trace


def _activity(rec: ActivityRecord) -> ActivityTrace:
    act = ActivityTrace(activity_id=rec.activity_id, activity_type=rec.activity_type, local=rec.local,
                        summary=rec.summary, scheduled_at=rec.scheduled_at, closed_at=rec.closed_at,
                        attempt=rec.attempt, last_failure=rec.last_failure, failure=rec.failure)
    if rec.status == "completed":
        act.status = "retried" if act.attempt > 1 else "completed"
        _facts(act, rec.input, rec.result)
    elif rec.status != "running":
        act.status = rec.status
    return act


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


async def _add_pending(client: Client, trace: RunTrace) -> None:
    """A running step's retries are not in the history yet; the server's description has them."""
    try:
        desc = await client.get_workflow_handle(trace.run_id).describe()
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
                        act.last_failure = failure_text(p.last_failure)
                    s.attempts = max(s.attempts, act.attempt)
                    s.last_failure = act.last_failure or s.last_failure


async def render_run(client: Client, run_id: str, format: str = "text") -> str:
    """What ``refinire-flow show RUN_ID`` prints: the run's graph with the run drawn over it."""
    return render_trace(await load_trace(client, run_id), format)
