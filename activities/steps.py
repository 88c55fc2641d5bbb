"""The step activity: runs one function step or custom ``Step`` from the worker's own code."""

from __future__ import annotations

import asyncio
import sysconfig
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any, Awaitable

from pydantic_core import to_json
from temporalio import activity
from temporalio.exceptions import ApplicationError

from refinire import registry
from refinire.wire import WIRE
from refinire.calls import apply_output, call_kind, invoke
from refinire.errors import NonRetryableError, exception_facts
from refinire.steps import FunctionStep
from workflows.delta import Snapshot, unpack
from workflows.formats import CHECKPOINT_ACTIVITY, DESCRIBE_ACTIVITY, STEP_ACTIVITIES
from workflows.io import Checkpoint, DescribeFlowInput, DescribeFlowOutput, StepInput, StepOutput
from workflows.start import read_start
from workflows.step_input import RUN_FIELDS_SEEN, RunFields, fill_in, needs_run_fields
from workflows.values import SUPPORTED, NotEncodable

# Sync step code runs here, never on the worker's event loop: a blocking step stalls nothing else.
STEP_POOL = ThreadPoolExecutor(max_workers=64, thread_name_prefix="refinire-step")
PAYLOAD_LIMIT = 2 * 1024 * 1024


def _fatal(message: str, kind: str) -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


def _not_serializable(err: NotEncodable, flow: str, step: str) -> ApplicationError:
    where = "its output" if err.path == "output" else (
        f"its output, at {err.path}" if err.path.startswith("output") else err.path)
    return ApplicationError(
        f"Flow {flow!r}: step {step!r} produced a {err.type_name} in {where}, which is not "
        f"JSON-serializable and not a type that travels between steps{err.why}. Return {SUPPORTED}.",
        {"path": err.path, "type": err.type_name}, type="NotSerializable", non_retryable=True)


async def no_exit(work: Awaitable[Any], flow: str, step: str) -> Any:
    """``work`` (the user's code), with a ``SystemExit`` it raises turned into a non-retryable
    failure of the step: left alone, asyncio would re-raise it out of the worker's event loop,
    ending the worker (and the script hosting it) with the run left open."""
    try:
        return await work
    except SystemExit as exc:
        message = (f"Flow {flow!r}: step {step!r} called sys.exit({exc.code!r}), which would end the "
                   "worker running it. A step ends by returning or raising: raise an exception to fail "
                   "the step (NonRetryableError to fail it without retries).")
        code = exc.code if isinstance(exc.code, (int, str, type(None))) else repr(exc.code)
        # Facts as exception_facts gives them: the error handler and FlowExecutionError.cause get a
        # StepExited that is a NonRetryableError, with the exit code.
        facts = {"module": "", "qualname": "StepExited", "name": "StepExited", "message": message,
                 "args": [message], "attrs": {"exit_code": code}, "non_retryable": True}
        raise ApplicationError(message, facts, type="StepExited", non_retryable=True) from None


async def heartbeat_while(task: asyncio.Future) -> Any:
    """Heartbeat while the step runs, so a dead worker is noticed after the heartbeat timeout
    rather than the step's whole start-to-close timeout, and a cancelled run is heard of (Temporal
    delivers a cancel in the answer to a heartbeat). On cancel, an async step is cancelled at once;
    a sync step's thread cannot be stopped, and its result is discarded."""
    info = activity.info()
    interval = (info.heartbeat_timeout.total_seconds() / 3) if info.heartbeat_timeout else None
    try:
        if not interval or info.is_local:
            return await task
        while True:
            done, _ = await asyncio.wait({task}, timeout=interval)
            if done:
                return task.result()
            activity.heartbeat()
    except asyncio.CancelledError:
        task.cancel()
        raise


async def _read_run_fields(info: activity.Info) -> RunFields:
    """The run's trace id and start time from its start event: a worker that did not interpret the
    run itself reads them once per run (``workflows.step_input``)."""
    client = activity.client()
    handle = client.get_workflow_handle(info.workflow_id, run_id=info.workflow_run_id)
    async for event in handle.fetch_history_events(page_size=1):
        started = event.workflow_execution_started_event_attributes
        args = await client.data_converter.decode(started.input.payloads)
        run = read_start(args, started.workflow_type.name)
        fields = (run.context.trace_id, run.context.start_time)
        RUN_FIELDS_SEEN.note(info.workflow_id, info.workflow_run_id, fields)
        return fields
    raise _fatal(f"Run {info.workflow_id!r} has no start event to read its trace id from.", "NoStartEvent")


async def step_input(inp: StepInput) -> StepInput:
    """The step's input with what the workflow left out put back (``workflows.step_input``)."""
    info = activity.info()
    fields = None
    if needs_run_fields(inp):
        fields = RUN_FIELDS_SEEN.get((info.workflow_id, info.workflow_run_id)) or await _read_run_fields(info)
    return fill_in(inp, info.activity_id, info.workflow_type, fields)


_OURS = tuple(str(Path(__file__).resolve().parent.parent / d) for d in ("activities", "refinire", "client", "workflows"))
_STDLIB = str(Path(sysconfig.get_paths()["stdlib"]).resolve())


def users_frames(tb: TracebackType | None) -> TracebackType | None:
    """``tb`` from the first frame of the user's code on: the frames of this activity, of
    ``refinire`` calling the step and of the thread pool running it say nothing about the error.
    The whole of ``tb`` when no frame is the user's (an error in our own code)."""
    def ours(frame: TracebackType) -> bool:
        path = str(Path(frame.tb_frame.f_code.co_filename).resolve())
        return path.startswith(_OURS) or (path.startswith(_STDLIB) and "site-packages" not in path)

    first = tb
    while first is not None and ours(first):
        first = first.tb_next
    return first if first is not None else tb


@activity.defn(name=STEP_ACTIVITIES[0])
async def run_step(inp: StepInput) -> StepOutput:
    inp = await step_input(inp)
    where = f"{inp.step_key}/{inp.branch}" if inp.branch else inp.step_key
    step = registry.live_step(inp.flow_name, inp.step_key, inp.branch)
    if step is None:
        raise _fatal(registry.not_in_code(inp.flow_name, where), "StepNotInCode")
    ctx = unpack(inp.context, inp.views)
    data = ctx.result
    ctx.next_label = None
    ctx.finished = False
    before_routing = (ctx.next_label, ctx.finished)
    before = Snapshot(ctx)
    try:
        if isinstance(step, FunctionStep):
            kind = call_kind(step.function) or "data_ctx"
            work = asyncio.ensure_future(
                no_exit(invoke(step.function, kind, data, ctx, STEP_POOL), inp.flow_name, where))
            ctx = apply_output(ctx, await heartbeat_while(work))
        else:
            work = asyncio.ensure_future(no_exit(step.run_async(data, ctx), inp.flow_name, where))
            ctx = await heartbeat_while(work)
            if not hasattr(ctx, "shared_state"):
                raise _fatal(
                    f"Flow {inp.flow_name!r}: step {where!r} ({type(step).__name__}.run_async) returned "
                    f"{type(ctx).__name__}; it must return the Context.", "BadStepResult")
    except ApplicationError:
        raise
    except Exception as exc:
        # The step's own exception, described so the error handler gets the user's class back; its
        # traceback starts at the user's code (the run's failure, show and the UI print it).
        exc.with_traceback(users_frames(exc.__traceback__))
        raise ApplicationError(str(exc), exception_facts(exc), type=type(exc).__name__,
                               non_retryable=isinstance(exc, NonRetryableError)) from exc
    route, finished = ctx.next_label, ctx.finished
    ctx.next_label, ctx.finished = before_routing
    try:
        # What the step stored keeps its type: values travel encoded (workflows.values).
        delta = before.delta(ctx, wire=True)
    except NotEncodable as err:
        raise _not_serializable(err, inp.flow_name, where) from None
    out = StepOutput(delta=delta, route=route, finished=finished)
    size = len(to_json(out, context=WIRE))
    if activity.info().is_local:
        out.size = size
    if size > PAYLOAD_LIMIT:
        raise _fatal(
            f"Flow {inp.flow_name!r}: step {where!r} produced {size:,} bytes of changes to the context, over "
            f"Temporal's {PAYLOAD_LIMIT:,}-byte payload limit. Store large data elsewhere (a file, a "
            "bucket) and pass a reference.", "PayloadTooLarge")
    return out


@activity.defn(name=STEP_ACTIVITIES[1])
async def run_step_v3(inp: StepInput) -> StepOutput:
    """``run_step`` for runs of format 3 (a name workers of earlier versions do not serve)."""
    return await run_step(inp)


@activity.defn(name=DESCRIBE_ACTIVITY)
async def describe_flow(inp: DescribeFlowInput) -> DescribeFlowOutput:
    """Pins the worker's spec in the history of a run that was started by name alone."""
    flow = registry.get(inp.flow_name)
    if flow is None:
        raise _fatal(f"No flow named {inp.flow_name!r} on this worker. Known: {registry.known()!r}",
                     "UnknownFlow")
    return DescribeFlowOutput(spec=flow.spec)


@activity.defn(name=CHECKPOINT_ACTIVITY)
async def checkpoint(inp: Checkpoint) -> Checkpoint:
    """Does nothing: scheduling it closes the workflow task that ran a batch of local steps."""
    return inp


ACTIVITIES = [run_step, run_step_v3, describe_flow, checkpoint]

