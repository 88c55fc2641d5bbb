"""The commands that run a flow: ``run`` (start it, or attach to one of its runs by id) and
``rerun`` (a new run from a step of an old one); both host a worker for the flow in-process."""

from __future__ import annotations

from shlex import quote

import argparse
import asyncio
from typing import Any

from refinire.errors import FlowExecutionError
from workflows.values import decode

from .exits import EXIT_OK, Interrupt, UsageError, err, out
from .targets import connected, describe_run, flow_code, loading, parse_input, render


async def cmd_run(args: argparse.Namespace) -> int:
    from client.running.attach import OtherFlowsRun
    from client.running.follow import for_command
    from client.running.start import start_or_attach

    flow = flow_code(args.flow)
    data = parse_input(args.input)
    client = await connected()
    if args.id is not None and args.input is not None:
        await _note_attaching(client, flow, args.id, data)
    try:
        if args.detach:
            handle = await start_or_attach(client, flow.durable_name, flow, data, None, args.id)
            out(handle.id)
            return EXIT_OK
        flow.last_run_id = None
        Interrupt.hint = None
        with for_command():
            result = await flow.run(data, run_id=args.id)
    except OtherFlowsRun as exc:
        raise UsageError(str(exc)) from None
    except asyncio.CancelledError:
        if flow.last_run_id:
            Interrupt.hint = (
                f"run {flow.last_run_id} goes on in Temporal: `refinire-flow run {quote(args.flow)} --id "
                f"{quote(flow.last_run_id)}` attaches to it, `refinire-flow cancel {quote(flow.last_run_id)}` stops it")
        raise
    err(f"run {result.run_id} completed" + (f" · {result.ui_url}" if result.ui_url else ""))
    out(render(result.value))
    return EXIT_OK


async def _note_attaching(client: Any, flow: Any, run_id: str, given: Any) -> None:
    """``run --id`` of an existing run attaches to it: say so when INPUT is not what it started with."""
    from client.running.attach import run_start, same_flow

    run = await run_start(client, run_id)
    if run is None or not same_flow(run, flow, flow.durable_name):
        return  # a new run, or another flow's (refused with its own message)
    if run.continuation == 0 and run.input == given:
        return

    def shown(value: Any) -> str:
        return repr(value) if isinstance(value, str) else render(value)

    was = f" (it started with {shown(run.input)})" if run.continuation == 0 else ""
    err(f"note: run {run_id} exists, so this attaches to it and INPUT {shown(given)} is not used{was}; "
        "leave --id out, or give a new one, to start a new run")


async def cmd_rerun(args: argparse.Namespace) -> int:
    from client.running.follow import showing
    from client.running.hosting import hosting
    from client.serving.modules import flow_by_name
    from client.history.reader import read_run
    from client.running.rerun import plan
    from client.running.start import wait_result

    client = await connected()
    await describe_run(client, args.run_id)
    record = await read_run(client, args.run_id)
    flow = None
    if not args.detach:
        run = record.require_run()
        flow = loading(f"the code of flow {run.flow_name!r}", flow_by_name,
                       run.flow_name, args.module, run.code)
    try:
        plan(record, args.from_step, flow)
    except FlowExecutionError as exc:
        raise UsageError(str(exc)) from None
    if flow is None:
        handle, _ = await _start_rerun(client, args, record=record)
        out(handle.id)
        return EXIT_OK
    async with hosting(client, flow) as worker_task:
        handle, the_plan = await _start_rerun(client, args, flow, record=record)
        err(f"rerun of {args.run_id} from step {the_plan.step!r}: new run {handle.id}")
        Interrupt.hint = (f"run {handle.id} goes on in Temporal: `refinire-flow cancel {quote(handle.id)}` "
                          "stops it")
        async with showing(client, handle.id, command=True):
            outcome = await wait_result(handle, the_plan.flow_name, worker_task, client=client)
    out(handle.id)
    out(render(decode(outcome.output)))
    return EXIT_OK


async def _start_rerun(client: Any, args: argparse.Namespace, flow: Any = None, *, record: Any = None) -> Any:
    from client.history.steps import StepNotReached
    from client.running.rerun import start_rerun

    if args.id is not None:
        await _id_free(client, args.id)
    try:
        return await start_rerun(client, args.run_id, args.from_step, flow=flow, new_id=args.id,
                                 record=record)
    except StepNotReached as exc:  # a step of the flow, but not of this run: usage, like an unknown one
        raise UsageError(str(exc)) from None


async def _id_free(client: Any, run_id: str) -> None:
    """A rerun's ``--id`` must name no run yet: Temporal would attach to a running one, or refuse."""
    from temporalio.service import RPCError, RPCStatusCode

    try:
        desc = await client.get_workflow_handle(run_id).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return
        raise
    raise UsageError(f"Run id {run_id!r} is taken by a run of {desc.workflow_type!r} "
                     f"({desc.status.name.lower() if desc.status else 'unknown'}): give the rerun another "
                     "--id, or leave --id out for a fresh one.")
