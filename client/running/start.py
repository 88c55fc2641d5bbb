"""Start a flow's run, or attach to an existing one, and turn its outcome into Python values."""

from __future__ import annotations

from shlex import quote

import asyncio
import contextlib
import uuid
import weakref
from typing import Any, AsyncIterator, Callable

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle
from temporalio.common import (
    RawValue,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, TerminatedError, CancelledError
from temporalio.service import RPCError

from refinire.outline import drawn
from refinire.result import RunResult
from refinire.context import Context
from refinire.errors import FlowCancelled, FlowExecutionError, rebuild_exception
from refinire.flow import Flow
from workflows.delta import pack, unpack
from refinire.spec import FlowSpec
from workflows.io import FORMAT, TASK_QUEUE_PREFIX, WORKFLOW_NAME, FlowResult, FlowRun, spans, task_queue_for
from workflows.start import read_start, start_args
from workflows.values import SUPPORTED, NotEncodable, encode
from workflows.formats import AGENTS_MEMO, FLOW_NAME, agent_names, run_summary

from client.connection.connect import connect, search_attributes_ready, ui_url
from client.history.trace import ledgers, load_trace_sync
from .follow import showing
from .draining import drain, grace_s
from .hosting import hosting


def new_run_id(flow_name: str) -> str:
    return f"{flow_name}-{uuid.uuid4().hex[:12]}"


async def start_run(client: Client, flow_name: str, spec_flow: Flow | None, data: Any,
                    ctx: Context | None, run_id: str | None, *, start_at: str | None = None,
                    rerun_of: str | None = None, summary: str | None = None,
                    memo: dict[str, Any] | None = None) -> WorkflowHandle:
    """Start the run, or return a handle to the existing run with that id (attach, never restart)."""
    fresh = run_id is None  # a new random id cannot meet an existing run: this start is the run's
    run_id = run_id or new_run_id(flow_name)
    sa_ready = await search_attributes_ready(client)
    spec = spec_flow.spec if spec_flow is not None else None
    ctx = ctx.model_copy(deep=True) if ctx is not None else Context()
    if spec_flow is not None and ctx.trace_id is None:
        ctx.trace_id = spec_flow.trace_id
    ctx.result = None  # the workflow sets it from FlowRun.input: the input travels once
    # The UI renders details as Markdown (no Mermaid): the flow drawn as text, in a code block.
    details = f"```\n{drawn(spec)}\n```" if spec is not None else None
    try:
        # The input and context keep their types (workflows.values); the workflow decodes them.
        ctx, views = pack(ctx)
        sent = encode(data, "the run's input")
    except NotEncodable as err:
        raise FlowExecutionError(
            f"Flow {flow_name!r}: {err.path if err.path.startswith('the run') else 'the context, at ' + err.path} "
            f"holds a {err.type_name}, which cannot travel to the run{err.why}; nothing was started. "
            f"Pass {SUPPORTED}.",
            flow_name=flow_name, cause_type="NotSerializable", cause_message=str(err)) from None
    agents = agent_names(spec) if spec is not None else []
    if agents:
        memo = {AGENTS_MEMO: agents, **(memo or {})}
    arg = FlowRun(flow_name=flow_name, spec=spec, input=sent, context=ctx, search_attributes=sa_ready,
                  start_at=start_at, rerun_of=rerun_of, format=FORMAT, views=views,
                  code=spec_flow.code_location if spec_flow is not None else None)
    # The workflow type is the flow's name (workflows.start); a flow named like the type of the
    # runs before it would reach the old interpreter, so it is started the old way.
    args = await _refuse_oversized(client, flow_name, [arg] if flow_name == WORKFLOW_NAME else start_args(arg))
    handle = await client.start_workflow(
        flow_name, args=args, id=run_id, task_queue=task_queue_for(flow_name),
        result_type=FlowResult,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        static_summary=summary or run_summary(flow_name, data), static_details=details,
        memo=memo or None,
        # FlowStatus says only what the execution status cannot (format 4, workflows.search).
        search_attributes=TypedSearchAttributes([SearchAttributePair(FLOW_NAME, flow_name)])
        if sa_ready else None,
    )
    if fresh:
        _RUN_FIELDS[handle] = (ctx.trace_id, ctx.start_time)
    return handle


_RUN_FIELDS: "weakref.WeakKeyDictionary[WorkflowHandle, tuple[Any, Any]]" = weakref.WeakKeyDictionary()
"""The trace id and start time a run was started with, for the handles of runs this process
started (``_completed`` reads them from the run's start event otherwise)."""


PAYLOAD_LIMIT = 2 * 1024 * 1024
"""Temporal's default per-payload limit (the server rejects bigger blobs)."""


async def _refuse_oversized(client: Client, flow_name: str, args: list[Any]) -> list[Any]:
    """What to send as the run's arguments: ``args`` encoded once, their size checked from those
    bytes (without a payload codec, the same bytes go out as ``RawValue``s; with one, ``args``)."""
    converter = client.data_converter
    if converter.payload_codec is None:
        payloads = converter.payload_converter.to_payloads(args)
        sent: list[Any] = [RawValue(p) for p in payloads]
    else:
        payloads = await converter.encode(args)
        sent = args
    size = sum(p.ByteSize() for p in payloads)
    if size > PAYLOAD_LIMIT:
        raise FlowExecutionError(
            f"Flow {flow_name!r}: the run's input is {size:,} bytes once encoded (input, context and the "
            f"flow's spec), over Temporal's {PAYLOAD_LIMIT:,}-byte payload limit; nothing was started. "
            "Pass a reference (a file path, a URL, a key) instead of the data itself.",
            flow_name=flow_name, cause_type="PayloadTooLarge")
    return sent


async def start_or_attach(client: Client, flow_name: str, spec_flow: Flow | None, data: Any,
                          ctx: Context | None, run_id: str | None) -> WorkflowHandle:
    """Start the run, or attach to the run ``run_id`` when it is one of this flow's.

    Raises:
        OtherFlowsRun: ``run_id`` is a run of another flow (``client.running.attach``).
    """
    from temporalio.exceptions import WorkflowAlreadyStartedError

    from .attach import refuse_other_flows_run

    if run_id is not None and spec_flow is not None:
        await refuse_other_flows_run(client, spec_flow, flow_name, run_id)
    try:
        return await start_run(client, flow_name, spec_flow, data, ctx, run_id)
    except WorkflowAlreadyStartedError:
        assert run_id is not None
        return client.get_workflow_handle(run_id, result_type=FlowResult)


def to_execution_error(err: BaseException, flow_name: str, run_id: str) -> FlowExecutionError:
    cause = err.cause if isinstance(err, WorkflowFailureError) else err
    if isinstance(cause, ApplicationError):
        details = cause.details[0] if cause.details and isinstance(cause.details[0], dict) else {}
        kind = details.get("cause_type") or cause.type
        message = details.get("cause_message") or cause.message
        facts = details.get("cause")
        return FlowExecutionError(
            f"{cause.message} (run {run_id!r}; inspect it with `refinire-flow show {quote(run_id)}`, "
            f"rerun it with `refinire-flow rerun {quote(run_id)}`)",
            flow_name=flow_name, run_id=run_id, step=details.get("step"), cause_type=kind,
            cause_message=message,
            cause=rebuild_exception(facts, kind or "Exception", message or "") if facts else None,
        )
    if isinstance(cause, CancelledError):
        return FlowCancelled(
            f"Flow {flow_name!r} run {run_id!r} was cancelled. It ended CANCELED; see it with "
            f"`refinire-flow show {quote(run_id)}`, or start it again from a step with "
            f"`refinire-flow rerun {quote(run_id)} --from STEP`.",
            flow_name=flow_name, run_id=run_id, cause_type="Cancelled", cause_message=str(cause))
    kind = "terminated" if isinstance(cause, TerminatedError) else "failed"
    return FlowExecutionError(f"Flow {flow_name!r} run {run_id!r} {kind}: {cause}",
                              flow_name=flow_name, run_id=run_id, cause_type=type(cause).__name__,
                              cause_message=str(cause))


async def wait_result(handle: WorkflowHandle, flow_name: str,
                      worker_task: asyncio.Task | None = None, *, client: Client | None = None) -> FlowResult:
    """The run's result; if the in-process worker dies first, its error instead of a silent hang.
    ``client``: the handle's (its converter reads the run's start event), else ``connect()``'s."""
    waiter = asyncio.ensure_future(handle.result())
    try:
        if worker_task is not None:
            await asyncio.wait({waiter, worker_task}, return_when=asyncio.FIRST_COMPLETED)
            if not waiter.done():
                exc = worker_task.exception() if not worker_task.cancelled() else None
                raise FlowExecutionError(
                    f"The worker for flow {flow_name!r} stopped while run {handle.id!r} was in flight: "
                    f"{exc!r}. The run is safe in Temporal; run the script again with "
                    f"run_id={handle.id!r} to resume it.", flow_name=flow_name, run_id=handle.id)
        return await _completed(client or await connect(), handle, await waiter)
    except (WorkflowFailureError, RPCError) as err:
        failure = to_execution_error(err, flow_name, handle.id)
        raise failure from failure.cause
    finally:
        if not waiter.done():
            waiter.cancel()


async def _completed(client: Client, handle: WorkflowHandle, outcome: FlowResult) -> FlowResult:
    """The result with what a format-3 run left out of it put back: the run's trace id and start
    time, as this process started the run with them, else from the start event of its last
    Temporal run (one history page of one event)."""
    fields = _RUN_FIELDS.get(handle)
    if fields is None and outcome.needs_run_fields:
        async for event in handle.fetch_history_events(page_size=1):
            started = event.workflow_execution_started_event_attributes
            run = read_start(await client.data_converter.decode(started.input.payloads),
                             started.workflow_type.name)
            fields = (run.context.trace_id, run.context.start_time)
            break
    return outcome.complete(fields)


@contextlib.asynccontextmanager
async def _serving_earlier_name(client: Client, flow: Flow, handle: WorkflowHandle, name: str, *,
                                attached: bool) -> AsyncIterator[None]:
    """A run attached to by id may have started when this flow had another durable name (unnamed
    flows were ``<variable>-<hash>`` before 0.2.0): serve its task queue too, or it would wait forever."""
    queue = (await handle.describe()).task_queue if attached else task_queue_for(name)
    if queue == task_queue_for(name) or not queue.startswith(TASK_QUEUE_PREFIX):
        yield
        return
    from client.serving.inflight import InFlight
    from client.serving.worker import build_worker

    tracked, window = InFlight(), grace_s()
    worker = build_worker(client, flow, as_name=queue.removeprefix(TASK_QUEUE_PREFIX),
                          graceful_shutdown_s=window, interceptors=[tracked])
    task = asyncio.create_task(worker.run())
    try:
        yield
    finally:
        await drain(worker, task, tracked, window)  # the steps it took finish (draining.py)


def whole_run_ledgers(run_id: str) -> Callable[[], tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """Reads a long run's whole ``span_history`` and ``usage`` from its chain, when asked."""
    def rebuild() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        return ledgers(load_trace_sync(run_id))

    return rebuild


def final_context(outcome: FlowResult, spec: FlowSpec | None = None) -> Context:
    """The run's final context from its result (format 2 sends the output once, beside it, and the
    span history as the path), its values decoded: ``final.result`` is the run's output. Call it
    once per result."""
    final = outcome.context
    if outcome.views is not None or final.result is None:
        final.result = outcome.output
    if outcome.spans_from_path:
        final.span_history = spans(outcome.path, spec)
    return unpack(final, outcome.views)


async def _has_ended(client: Client, run_id: str) -> bool:
    """Whether a run with this id exists and has closed (the newest Temporal run of its chain)."""
    try:
        desc = await client.get_workflow_handle(run_id).describe()
    except RPCError:
        return False
    return desc.status is not None and desc.status != WorkflowExecutionStatus.RUNNING


async def run_flow(flow: Flow, data: Any = None, ctx: Context | None = None, *,
                   run_id: str | None = None) -> RunResult:
    client = await connect()
    name = flow.register()
    # Attaching to a run that has ended only reads its result: a worker started for it could take
    # another run's step and abandon it when this returns.
    ended = run_id is not None and await _has_ended(client, run_id)
    async with (contextlib.nullcontext(None) if ended else hosting(client, flow)) as worker_task:
        handle = await start_or_attach(client, name, flow, data, ctx, run_id)
        flow.last_run_id = handle.id
        async with _serving_earlier_name(client, flow, handle, name, attached=run_id is not None), \
                showing(client, handle.id):
            outcome = await wait_result(handle, name, worker_task, client=client)
    final = final_context(outcome, flow.spec)
    if ctx is not None:
        for field in type(ctx).model_fields:
            setattr(ctx, field, getattr(final, field))
    flow.context = final
    result = RunResult(final.result, final, run_id=handle.id, flow_name=name,
                       ui_url=ui_url(client, handle.id), path=outcome.path,
                       rebuild=whole_run_ledgers(handle.id) if outcome.continuation else None)
    flow.last_result = result
    return result
