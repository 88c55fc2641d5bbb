"""Replay recorded runs against the current code: the gate before deploying a changed flow.

A run pins its FlowSpec in its input, so a changed graph alone never changes a run in flight. What
does break a run is code that decides differently or no longer has a step it reached:

* a condition (or the error handler) that, replayed on the recorded context, now takes another
  branch than the history recorded. Temporal's Replayer only notices this when the commands that
  follow differ, so the decisions made during the replay are recorded and compared one by one;
* a step the run reached that the code no longer has, or that is now another kind of step;
* anything else Temporal's Replayer reports (a nondeterminism error).

The first of these, in history order, names the incompatible step.
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from temporalio import workflow
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Replayer

from refinire.flow import Flow
from refinire.spec import ConditionSpec, FlowSpec, ParallelSpec
from refinire.steps import ConditionStep
from workflows.refinire_flow import WORKFLOWS

from client.history.chain import fetch_chain
from client.history.reader import RunRecord, read_events
from client.history.steps import step_events
from client.serving.modules import flow_by_name
from client.history.listing import iter_runs


@dataclass
class Verdict:
    run_id: str
    flow: str
    step: str | None = None
    reason: str | None = None
    no_code: bool = False
    """The flow's code could not be loaded here: nothing was replayed (not a verdict on the code)."""

    @property
    def ok(self) -> bool:
        return self.reason is None

    def line(self) -> str:
        if self.ok:
            return f"ok    {self.run_id} ({self.flow})"
        where = f" at step {self.step!r}" if self.step else ""
        return f"FAIL  {self.run_id} ({self.flow}){where}: {self.reason}"


# Decisions the current code makes during a replay, by workflow id, in order.
_DECISIONS: dict[str, list[tuple[str, str | None, Any]]] = {}


def _label(spec: ConditionSpec | None, value: Any) -> str:
    return str(value) if spec is not None and spec.routes is not None else str(bool(value))


@contextlib.contextmanager
def recording(flows: Iterable[Flow]) -> Iterator[None]:
    """Wrap the flows' conditions and error handlers to note what they decide while replaying."""
    undo: list[Callable[[], None]] = []
    try:
        for flow in flows:
            spec = flow.spec
            for key, step_spec in spec.steps.items():
                step = flow.step_object(key)
                if isinstance(step, ConditionStep) and isinstance(step_spec, ConditionSpec):
                    undo.append(functools.partial(setattr, step, "condition", step.condition))
                    step.condition = _condition_recorder(key, step_spec, step.condition)
            if flow.error_handler is not None:
                undo.append(functools.partial(flow.set_error_handler, flow.error_handler))
                flow.set_error_handler(_handler_recorder(flow.error_handler))
        yield
    finally:
        for restore in reversed(undo):
            restore()


def _condition_recorder(key: str, spec: ConditionSpec, condition: Any) -> Any:
    def recorded_condition(ctx: Any) -> Any:
        value = condition(ctx)
        _DECISIONS.setdefault(workflow.info().workflow_id, []).append((key, _label(spec, value), None))
        return value

    return recorded_condition


def _handler_recorder(handler: Any) -> Any:
    def recorded_handler(error: BaseException, ctx: Any) -> Any:
        target = handler(error, ctx)
        if target is not None:
            _DECISIONS.setdefault(workflow.info().workflow_id, []).append(("", None, target))
        return target

    return recorded_handler


def check_code(record: RunRecord, flow: Flow) -> tuple[int, str, str] | None:
    """The first step the run reached that the code no longer has (event id, step, reason)."""
    pinned, current = record.spec, flow.spec
    for e in step_events(record):
        if e.kind not in ("activity", "local", "decision"):
            continue
        if e.kind == "decision" and (e.value or {}).get("value", "").startswith("error:"):
            continue
        live = flow.step_object(e.step_key, e.branch)
        where = f"{e.step_key}/{e.branch}" if e.branch else e.step_key
        if live is None:
            return e.event_id, where, (f"the run reached step {where!r}, which the code no longer has. "
                                       "Put the step back (under the same key) before deploying.")
        was = _kind(pinned, e.step_key, e.branch)
        now = _kind(current, e.step_key, e.branch)
        if was and now and was != now:
            return e.event_id, where, (f"step {where!r} was a {was} step when the run started and is a "
                                       f"{now} step in the code.")
    return None


def _kind(spec: FlowSpec | None, key: str, branch: str | None) -> str | None:
    step = spec.steps.get(key) if spec is not None else None
    if step is None:
        return None
    if branch and isinstance(step, ParallelSpec):
        return next((b.kind for b in step.branches if b.name == branch), None)
    return step.kind


def compare_decisions(record: RunRecord) -> tuple[int, str, str] | None:
    """The first branch the current code takes differently from the recorded one."""
    made = _DECISIONS.pop(record.run_id, [])
    wanted = [e for e in step_events(record) if e.kind == "decision"]
    for i, e in enumerate(wanted):
        value = e.value or {}
        now = made[i] if i < len(made) else None
        if value.get("value", "").startswith("error:"):
            if now is None or str(now[2]) != str(value.get("to")):
                got = "no step" if now is None or now[2] is None else repr(now[2])
                return e.event_id, e.step_key, (f"the error handler chose {value.get('to')!r} when the "
                                                f"run failed at this step, and now chooses {got}.")
            continue
        if now is None or now[0] != e.step_key or now[1] != value.get("value"):
            got = "nothing" if now is None else repr(now[1])
            return e.event_id, e.step_key, (f"the condition decided {value.get('value')!r} (to "
                                            f"{value.get('to')!r}) and now decides {got}.")
    return None


def _replayer() -> Replayer:
    from client.serving.worker import runner_for

    from client.connection.codec import data_converter

    converter = data_converter()
    return Replayer(workflows=WORKFLOWS, workflow_runner=runner_for(converter, strict=True),
                    data_converter=converter)


async def replay_history(history: WorkflowHistory, modules: Iterable[str] = (),
                         replayer: Replayer | None = None) -> Verdict:
    from client.connection.codec import data_converter

    record = await read_events(data_converter(), history.workflow_id, [history.events])
    name = record.flow_name or "?"
    try:
        flow = flow_by_name(name, modules, record.require_run().code)
    except Exception as exc:
        return Verdict(record.run_id, name, None, str(exc), no_code=True)
    problems = []
    missing = check_code(record, flow)
    if missing:
        problems.append(missing)
    _DECISIONS.pop(record.run_id, None)
    with recording([flow]):
        result = await (replayer or _replayer()).replay_workflow(history, raise_on_replay_failure=False)
    changed = compare_decisions(record)
    if changed:
        problems.append(changed)
    if problems:
        _, step, reason = min(problems, key=lambda p: p[0])
        return Verdict(record.run_id, name, step, reason)
    if result.replay_failure is not None:
        message = str(result.replay_failure).splitlines()[0] if str(result.replay_failure) else ""
        return Verdict(record.run_id, name, _step_in(message, record),
                       f"{type(result.replay_failure).__name__}: {message}")
    return Verdict(record.run_id, name)


def _step_in(message: str, record: RunRecord) -> str | None:
    for key in reversed(record.reached()):
        if f"{key}#" in message or f"'{key}'" in message:
            return key
    return None


async def replay_runs(client: Client, run_ids: Iterable[str] = (), *, flow: str | None = None,
                      limit: int | None = None, modules: Iterable[str] = ()) -> list[Verdict]:
    modules = list(modules)
    ids = list(run_ids)
    if flow:
        ids += [e.id async for e in iter_runs(client, flow=flow, limit=limit)]
    replayer = _replayer()
    verdicts = []
    for run_id in ids:
        try:
            chain = await fetch_chain(client, run_id)
        except Exception as exc:
            verdicts.append(Verdict(run_id, "?", None, f"cannot read its history: {exc}"))
            continue
        # A long run is a chain of Temporal runs; each one must replay, and the first that does not
        # is the run's verdict.
        for history in chain:
            verdict = await replay_history(history, modules, replayer)
            if not verdict.ok or history is chain[-1]:
                verdicts.append(verdict)
                break
    return verdicts
