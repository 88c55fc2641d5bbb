"""FlowWorkflow: the deterministic interpreter of a FlowSpec.

It only routes. Steps that do work run as activities; conditions and the error handler run here,
from the run's context, so every branch decision is replayed exactly. Anything that goes wrong in
this code fails the run with a message naming the step; it never leaves a workflow task retrying.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from refinire import registry
    from refinire.context import Context
    from refinire.errors import rebuild_exception
    from refinire.outline import drawn
    from refinire.spec import (
        END,
        ConditionSpec,
        CustomSpec,
        FlowSpec,
        FunctionSpec,
        ParallelSpec,
        StepSpec,
    )

    from . import agents, search
    from .formats import (
        DESCRIBE_ACTIVITY,
        RUN_STARTED_MEMO,
        STEP_ACTIVITIES,
        step_activity_id,
        step_summary,
    )
    from .delta import Snapshot, apply, encoded, pack, unpack
    from .io import (
        WORKFLOW_NAME,
        DescribeFlowInput,
        DescribeFlowOutput,
        FlowResult,
        FlowRun,
        StepInput,
        StepOutput,
    )
    from .limits import Limits, check_fan_out, check_payload, checked_payload
    from .parallel import merge_branches
    from .runtime import StepFailed, call_activity, failure_with_trace, merged_options, record_decision
    from .start import read_start, start_args
    from .step_input import RUN_FIELDS_SEEN, leave_out
    from .values import SUPPORTED, NotEncodable, encode


def _fail(message: str, kind: str, **details: Any) -> ApplicationError:
    return ApplicationError(message, details, type=kind, non_retryable=True)


class Interpreter:
    """The interpreter of every run; ``FlowByName`` (format 3) and ``FlowWorkflow`` (the
    ``RefinireFlow`` type of earlier runs) only differ in how they read their input."""

    def __init__(self) -> None:
        self._flow_name = ""
        self._current: str | None = None
        self._path: list[str] = []
        self._search_attributes = False
        self._step_names: dict[str, str] = {}
        self._format = 1
        self._last_size = 0
        self._spec: FlowSpec | None = None
        self._run_fields: tuple[Any, Any] = (None, None)
        self.waits = agents.Waits()

    # Visibility -------------------------------------------------------------------------
    @workflow.query(name="current_step")
    def current_step(self) -> str | None:
        return self._current

    @workflow.query(name="path")
    def path(self) -> list[str]:
        return list(self._path)

    @workflow.query(name="pending_question")
    def pending_question(self) -> agents.PendingQuestion | None:
        return self.waits.pending

    @workflow.update(name="answer")
    async def answer(self, answer: agents.Answer) -> agents.AnswerAccepted:
        return self.waits.deliver(answer)

    @answer.validator
    def _validate_answer(self, answer: agents.Answer) -> None:
        self.waits.validate(answer)

    # The interpreter --------------------------------------------------------------------
    async def _run(self, run: FlowRun) -> FlowResult | RawValue:
        self._flow_name = run.flow_name
        self._search_attributes = run.search_attributes
        self._format = run.format
        spec = run.spec or await self._describe(run.flow_name)
        self._spec = spec
        self._run_fields = (run.context.trace_id, run.context.start_time)
        if self._format >= 3:
            info = workflow.info()  # a hint for this process's step activities (workflows.step_input)
            RUN_FIELDS_SEEN.note(info.workflow_id, info.run_id, self._run_fields)
        ctx = run.context
        ctx.result = run.input
        unpack(ctx, run.views)
        ctx.finished = False
        current: str | None = run.start_at or spec.start
        if current not in spec.steps:
            raise _fail(f"Flow {spec.name!r} has no step {current!r} to start at. "
                        f"Known steps: {list(spec.steps)!r}", "UnknownStep", step=current)
        self.waits.search_attributes = run.search_attributes
        self.waits.format = self._format
        if self._format >= 3:
            self.waits.drawing = self._drawing
        try:
            result = await self._interpret(spec, ctx, current, run)
        except ApplicationError:
            self._show_where("Failed at step", self._current)
            self._upsert_state("Failed")
            raise
        except asyncio.CancelledError:
            self._show_where("Cancelled at step", self._current)
            if self._format >= 2:
                self._upsert_state("Canceled")
            raise
        self._show_where(f"Completed after {len(self._path)} steps", None)
        return result

    async def _interpret(self, spec: FlowSpec, ctx: Context, current: str | None,
                         run: FlowRun) -> FlowResult | RawValue:
        visits = run.visits
        limits = Limits(spec.history_budget)
        while current is not None:
            if visits >= spec.max_steps:
                raise _fail(
                    f"Flow {spec.name!r} exceeded max_steps={spec.max_steps} at step {current!r}. "
                    "A loop that never ends? Fix the condition or raise max_steps.",
                    "MaxStepsExceeded", step=current, max_steps=spec.max_steps)
            if self._format >= 2 and visits > run.visits and limits.continue_as_new_due():
                await self._continue_as_new(spec, ctx, current, visits, run)
            visits += 1
            step = spec.steps[current]
            self._enter(step, ctx, visits)
            try:
                ctx, current = await self._run_step(spec, step, ctx, visits)
            except StepFailed as failure:
                ctx, current = self._on_failure(spec, step, ctx, failure)
                self._check_encodable(spec, step, ctx, "the error handler")
            if current == END:
                current = None
            ctx.step_count += 1
            ctx.span_history.append({"step_name": step.name, "key": step.key, "status": "completed"})
            ctx.next_label = current
            if self._format >= 2 and self._ran_local(spec, step) and limits.local_step(self._last_size):
                await limits.checkpoint(visits)
        ctx.finished = True
        ctx.current_step = None
        last = self._path[-1] if self._path else spec.start
        what = "the run's result (its output and final context)"
        sent: FlowResult | RawValue
        if self._format < 2:
            wire = self._wire(lambda: encoded(ctx), spec, last, what)
            sent = FlowResult(output=wire.result, context=wire, path=self._path)
        else:
            # span_history is the path with names: the reader rebuilds it from ``path`` and the spec.
            wire, views = self._wire(lambda: pack(ctx, keep_workflow_fields=True), spec, last, what)
            result = FlowResult(output=wire.result, path=self._path, views=views,
                                continuation=run.continuation, spans_from_path=True,
                                context=wire.model_copy(update={"result": None, "span_history": []}))
            if self._format >= 3:
                # What a reader knows is left out (FlowResult.complete), so the UI's Result panel
                # opens on the output and what the run changed.
                counted = ctx.step_count == len(self._path) and run.continuation == 0
                result = result.model_copy(update={
                    "format": 3, "spans_from_path": False,
                    "own_run_fields": (ctx.trace_id, ctx.start_time) != self._run_fields,
                    "context": result.context.model_copy(update={
                        "finished": False, "step_count": 0 if counted else ctx.step_count})})
            # Checked from the bytes that are sent: the result is encoded once.
            sent = RawValue(checked_payload(result, spec.name, last, what)[0])
        self._upsert_state("Completed")
        self._current = None
        return sent

    async def _continue_as_new(self, spec: FlowSpec, ctx: Context, current: str, visits: int,
                               run: FlowRun) -> None:
        """Hand the run over to a fresh Temporal run of the same workflow id, between two steps."""
        await workflow.wait_condition(workflow.all_handlers_finished)
        what = "the context carried into the next run of the chain"
        wire, views = self._wire(lambda: pack(ctx), spec, current, what)
        nxt = run.model_copy(update={
            "spec": spec, "input": wire.result, "context": wire.model_copy(update={"result": None}),
            "views": views, "start_at": current, "visits": visits, "continuation": run.continuation + 1,
        })
        check_payload(nxt, spec.name, current, what)
        if self._format < 3:
            workflow.continue_as_new(nxt)
        # The first run's start time is its own; the later runs of the chain are told it (memo).
        info = workflow.info()
        memo = dict(workflow.memo())
        memo.setdefault(RUN_STARTED_MEMO, info.workflow_start_time.isoformat())
        if info.workflow_type == WORKFLOW_NAME:
            workflow.continue_as_new(nxt, memo=memo)
        workflow.continue_as_new(args=start_args(nxt), workflow=info.workflow_type, memo=memo)

    def _ran_local(self, spec: FlowSpec, step: StepSpec) -> bool:
        return isinstance(step, (FunctionSpec, CustomSpec)) and bool(
            merged_options(spec, step.options).local)

    def _upsert_state(self, status: str) -> None:
        if self._search_attributes and search.settled(self._format, status):
            # Format 3: a completed run's FlowStep (its last step, the same for most runs of a
            # flow) is left out; where a run waits or failed, FlowStep names the step.
            last = self._format >= 3 and status == "Completed"
            search.upsert_state(status, None if last else self._step_names.get(self._current or ""))

    async def _describe(self, flow_name: str) -> FlowSpec:
        out = await workflow.execute_local_activity(
            DESCRIBE_ACTIVITY, DescribeFlowInput(flow_name=flow_name),
            result_type=DescribeFlowOutput, start_to_close_timeout=timedelta(seconds=10),
        )
        return out.spec

    def _enter(self, step: StepSpec, ctx: Context, visit: int) -> None:
        self._current = step.key
        self._path.append(step.key)
        ctx.current_step = step.name
        self._step_names[step.key] = step.name
        if self._format < 3 or self._spec is None:
            workflow.set_current_details(f"Step **{step.name}** ({step.kind}), visit {visit}")
            return
        self._show_where(f"Step {visit} of the run: **{step.name}** ({step.kind})", step.key)

    def _show_where(self, what: str, key: str | None) -> None:
        """The UI's "current details" (served by a query: no history): where the run is, drawn."""
        if self._format >= 3 and self._spec is not None:
            step = self._spec.steps.get(key) if key else None
            if step is not None and not what.startswith("Step "):
                what = f"{what} **{step.name}**"
            workflow.set_current_details(f"{what}\n\n```\n{self._drawing(key)}\n```")

    def _drawing(self, key: str | None) -> str:
        """The flow drawn with step ``key`` marked (drawn once per worker process and flow)."""
        assert self._spec is not None
        return drawn(self._spec, current=key)

    async def _run_step(self, spec: FlowSpec, step: StepSpec, ctx: Context,
                        visit: int) -> tuple[Context, str | None]:
        if isinstance(step, ConditionSpec):
            target = self._decide(spec, step, ctx)
            self._check_encodable(spec, step, ctx, "its condition")
            return ctx, target
        if isinstance(step, (FunctionSpec, CustomSpec)):
            out = await self._step_activity(spec, step, ctx, step_activity_id(step.key, visit))
            ctx = self._absorb(ctx, out)
            if out.finished:
                return ctx, None
            return ctx, self._checked_route(spec, step, out.route) if out.route else step.next
        if isinstance(step, ParallelSpec):
            return await self._parallel(spec, step, ctx, visit), step.next
        return await agents.run_agent_kind(spec, step, ctx, visit, self.waits)

    @staticmethod
    def _absorb(ctx: Context, out: StepOutput) -> Context:
        """The context after a step: its changes applied (format-1 workers send the whole context)."""
        if out.delta is not None:
            return apply(ctx, out.delta)
        assert out.context is not None
        new = out.context
        if not new.span_history and not new.usage:
            new.span_history, new.usage = ctx.span_history, ctx.usage
        return new

    def _step_input(self, spec: FlowSpec, key: str, branch: str | None, ctx: Context,
                    what: str = "the step's input") -> StepInput:
        where = f"{key}/{branch}" if branch else key
        if self._format < 2:
            wire = self._wire(lambda: encoded(ctx), spec, where, what)
            return StepInput(flow_name=spec.name, step_key=key, branch=branch, context=wire)
        wire, views = self._wire(lambda: pack(ctx), spec, where, what)
        return StepInput(flow_name=spec.name, step_key=key, branch=branch, context=wire, views=views)

    @staticmethod
    def _wire(make: Any, spec: FlowSpec, step: str, what: str) -> Any:
        """The context encoded for Temporal (``workflows.values``); a value that cannot be encoded
        fails the run naming the step (code that ran in the workflow stored it)."""
        try:
            return make()
        except NotEncodable as err:
            raise _fail(f"Flow {spec.name!r}: {what} at step {step!r} holds a {err.type_name} in "
                        f"{err.path}, which cannot travel between steps{err.why}. Store {SUPPORTED}.",
                        "NotSerializable", step=step, path=err.path) from None

    async def _step_activity(self, spec: FlowSpec, step: FunctionSpec | CustomSpec, ctx: Context,
                             activity_id: str, branch: str | None = None,
                             key: str | None = None, arg: StepInput | None = None) -> StepOutput:
        label = f"{key}/{step.name}" if branch else step.name
        inp = arg or self._step_input(spec, key or step.key, branch, ctx)
        if self._format >= 3:
            inp = leave_out(inp, activity_id, workflow.info().workflow_type, self._run_fields)
        out: StepOutput = await call_activity(
            STEP_ACTIVITIES[self._format >= 3], inp,
            StepOutput, flow=spec, options=step.options, step_key=key or step.key,
            step_name=step.name, activity_id=activity_id,
            summary=step_summary(label, step.kind, self._format),
            branch=branch,
        )
        self._last_size = out.size
        if out.delta is not None:
            out.delta.decode()  # the step's values, with their types (workflows.values)
        return out

    # Conditions and routes run here, from the context ---------------------------------
    def _decide(self, spec: FlowSpec, step: ConditionSpec, ctx: Context) -> str:
        condition = getattr(registry.live_step(spec.name, step.key), "condition", None)
        if condition is None:
            raise _fail(registry.not_in_code(spec.name, step.key, "condition for step"),
                         "StepNotInCode", step=step.key)
        try:
            value = condition(ctx)
        except Exception as exc:
            raise _fail(
                f"Flow {spec.name!r}: the condition of step {step.key!r} raised "
                f"{type(exc).__name__}: {exc}. Conditions run inside the workflow; make it a pure "
                "function of ctx that cannot raise.",
                "ConditionFailed", step=step.key, cause_type=type(exc).__name__, cause_message=str(exc))
        if step.routes is None:
            target = step.if_true if value else step.if_false
            label = str(bool(value))
        else:
            label = str(value)
            target = step.routes.get(label, step.routes.get("default"))
            if target is None:
                raise _fail(
                    f"Flow {spec.name!r}: the condition of step {step.key!r} returned {value!r}, which is "
                    f"not a route. Known routes: {list(step.routes)!r}. Return one of them or add a "
                    "'default' route.",
                    "UnknownRoute", step=step.key, value=label)
        if target is None:
            target = step.next
        record_decision(step.key, label, target)
        return target  # type: ignore[return-value]

    def _checked_route(self, spec: FlowSpec, step: StepSpec, route: str) -> str:
        if route not in spec.steps and route != END:
            raise _fail(
                f"Flow {spec.name!r}: step {step.key!r} routed to unknown step {route!r}. "
                f"Known steps: {list(spec.steps)!r}", "UnknownStep", step=step.key, target=route)
        return route

    def _on_failure(self, spec: FlowSpec, step: StepSpec, ctx: Context,
                    failure: StepFailed) -> tuple[Context, str | None]:
        flow = registry.get(spec.name)
        handler = flow.error_handler if (flow and spec.has_error_handler) else None
        where = f"{step.key}/{failure.branch}" if failure.branch else step.key
        if handler is not None:
            try:
                target = handler(rebuild_exception(failure.facts, failure.cause_type,
                                                   failure.cause_message), ctx)
            except Exception as exc:
                raise _fail(
                    f"Flow {spec.name!r}: the error handler raised {type(exc).__name__}: {exc} while "
                    f"handling the failure of step {where!r}.", "ErrorHandlerFailed", step=where)
            if target is not None:
                target = self._checked_route(spec, step, str(target))
                record_decision(step.key, f"error: {failure.cause_type}", target)
                return ctx, target
        error = _fail(
            f"Flow {spec.name!r} failed at step {where!r}: {failure.cause_type}: {failure.cause_message}",
            "StepFailed", step=failure.step_name, step_key=step.key, branch=failure.branch,
            cause_type=failure.cause_type, cause_message=failure.cause_message, cause=failure.facts)
        if self._format >= 3 and failure.trace:
            # The run's own failure (what the UI shows first) carries the step's traceback.
            failure_with_trace(error, failure.trace)
        raise error

    def _check_encodable(self, spec: FlowSpec, step: StepSpec, ctx: Context, who: str) -> None:
        """Code that ran here (a condition, the error handler) may have stored a value that cannot
        travel between steps; find it now, naming the step, instead of at the next step's input."""
        try:
            encode(ctx.result, "ctx.result")
            encode(ctx.shared_state, "shared_state")
        except NotEncodable as err:
            raise _fail(
                f"Flow {spec.name!r}: {who} of step {step.key!r} put a {err.type_name} in {err.path} "
                f"that cannot be encoded as JSON{err.why}. Store {SUPPORTED}.",
                "NotSerializable", step=step.key, key=err.path, path=err.path) from None

    # Parallel blocks ----------------------------------------------------------------------
    async def _parallel(self, spec: FlowSpec, block: ParallelSpec, ctx: Context, visit: int) -> Context:
        gate = asyncio.Semaphore(block.max_workers)
        fork = Snapshot(ctx)
        n_usage = len(ctx.usage)
        arg = None
        if any(isinstance(b, (FunctionSpec, CustomSpec)) for b in block.branches):
            arg = self._step_input(spec, block.key, None, ctx)
            check_fan_out(arg, spec.name, block.key, min(block.max_workers, len(block.branches)))

        async def branch(b: Any) -> StepOutput:
            async with gate:
                activity_id = step_activity_id(block.key, visit, b.name)
                if isinstance(b, (FunctionSpec, CustomSpec)):
                    assert arg is not None
                    one = arg.model_copy(update={"branch": b.name})
                    return await self._step_activity(spec, b, ctx, activity_id, branch=b.name,
                                                      key=block.key, arg=one)
                sub = ctx.model_copy(deep=True)
                out_ctx, _ = await agents.run_agent_kind(spec, b, sub, visit, self.waits,
                                                         parent=block.key)
                return StepOutput(delta=fork.delta(out_ctx), usage=out_ctx.usage[n_usage:])

        results = await asyncio.gather(*(branch(b) for b in block.branches), return_exceptions=True)
        ctx = merge_branches(ctx, block, results, fork, strict=self._format >= 2,
                             flow=registry.get(spec.name))
        if self._format >= 2:
            what = "the context after the block merged its branches' outputs"
            check_payload(self._step_input(spec, block.key, None, ctx, what), spec.name, block.key, what)
        return ctx


@workflow.defn(dynamic=True)
class FlowByName(Interpreter):
    """Runs of format 3: the workflow type is the flow's name (``workflows.start``)."""

    @workflow.run
    async def run(self, args: Sequence[RawValue]) -> FlowResult | RawValue:
        convert = workflow.payload_converter()
        values = [convert.from_payload(a.payload) for a in args]
        run = read_start(values, workflow.info().workflow_type)
        # The client sets our search attributes at start only when the server knows them.
        run.search_attributes = workflow.info().typed_search_attributes.get(search.FLOW_NAME) is not None
        return await self._run(run)
