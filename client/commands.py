"""The commands behind ``refinire-flow``: each takes the parsed arguments and returns an exit code.

Output goes to stdout (what a script would pipe on), progress and verdicts on failure to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

EXIT_FAILED = 1


class CLIError(Exception):
    """A problem the user can fix; printed as one line."""


def _out(text: str = "") -> None:
    print(text, flush=True)


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _render(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(value)


def parse_input(text: str | None) -> Any:
    """JSON when it parses (``42``, ``{"a": 1}``, ``"quoted"``), else the text itself."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


async def _client():
    from .connect import connect

    return await connect()


# Commands --------------------------------------------------------------------------------------
def cmd_server(args: argparse.Namespace) -> int:
    from . import embedded

    root = embedded.data_dir()
    cmd = embedded.server_command(root / "temporal.db", args.port, args.ui_port, log_level=args.log_level)
    _out(f"Temporal dev server on 127.0.0.1:{args.port}, Web UI http://localhost:{args.ui_port}, "
         f"data in {root} (search attributes {', '.join(embedded.SEARCH_ATTRIBUTES)} registered)")
    os.execv(cmd[0], cmd)  # the server itself takes this process's place, and its signals
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    import worker

    modules = worker.prepare(args)
    from .modules import import_flows

    import_flows(modules)
    try:
        asyncio.run(worker.serve(modules, graceful_shutdown_s=args.graceful_shutdown))
    except KeyboardInterrupt:
        pass
    return 0


async def cmd_run(args: argparse.Namespace) -> int:
    from .modules import load_flow
    from .runner import start_or_attach

    flow = load_flow(args.flow)
    data = parse_input(args.input)
    if args.detach:
        client = await _client()
        handle = await start_or_attach(client, flow.durable_name, flow, data, None, args.id)
        _out(handle.id)
        return 0
    result = await flow.run(data, run_id=args.id)
    _err(f"run {result.run_id} completed" + (f" · {result.ui_url}" if result.ui_url else ""))
    _out(_render(result.value))
    return 0


async def cmd_runs(args: argparse.Namespace) -> int:
    from .runs import format_table, list_runs

    rows = await list_runs(await _client(), flow=args.flow, status=args.status, limit=args.limit)
    _out(format_table(rows) if rows else "no runs")
    return 0


async def cmd_show(args: argparse.Namespace) -> int:
    from .modules import FLOW_REF, load_flow

    if FLOW_REF.match(args.target):
        from refinire._show import show

        _out(show(load_flow(args.target), format=args.format))
        return 0
    from .history import render_run

    _out(await render_run(await _client(), args.target, args.format))
    return 0


async def cmd_replay(args: argparse.Namespace) -> int:
    from .replay import replay_runs

    if not args.runs and not args.flow:
        raise CLIError("Name runs to replay (replay RUN_ID ...) or a flow (replay --flow NAME).")
    verdicts = await replay_runs(await _client(), args.runs, flow=args.flow, limit=args.limit,
                                 modules=args.module)
    if not verdicts:
        raise CLIError(f"No runs of flow {args.flow!r} to replay.")
    for v in verdicts:
        (_out if v.ok else _err)(v.line())
    bad = [v for v in verdicts if not v.ok]
    _out(f"{len(verdicts) - len(bad)} of {len(verdicts)} runs replay with the current code")
    return EXIT_FAILED if bad else 0


async def cmd_rerun(args: argparse.Namespace) -> int:
    from .host import hosting
    from .modules import flow_by_name
    from .recorded import load
    from .rerun import start_rerun
    from .runner import wait_result

    client = await _client()
    flow = None
    if not args.detach:
        run = (await load(client, args.run_id)).run
        flow = flow_by_name(run.flow_name, args.module, run.code)
    if flow is None:
        handle, plan = await start_rerun(client, args.run_id, args.from_step, new_id=args.id)
        _out(handle.id)
        return 0
    async with hosting(client, flow) as worker_task:
        handle, plan = await start_rerun(client, args.run_id, args.from_step, flow=flow, new_id=args.id)
        _err(f"rerun of {args.run_id} from step {plan.step!r}: new run {handle.id}")
        outcome = await wait_result(handle, plan.flow_name, worker_task)
    _out(handle.id)
    _out(_render(outcome.output))
    return 0


async def cmd_answer(args: argparse.Namespace) -> int:
    from .handle import AnswerRejected, RunHandle

    client = await _client()
    run = RunHandle(client.get_workflow_handle(args.run_id), None, client)  # type: ignore[arg-type]
    try:
        accepted = await run.answer(args.text, args.step)
    except AnswerRejected as exc:
        raise CLIError(str(exc)) from None
    _out(f"answered step {accepted.step!r} of run {args.run_id}")
    return 0


async def cmd_cancel(args: argparse.Namespace) -> int:
    from temporalio.service import RPCError

    handle = (await _client()).get_workflow_handle(args.run_id)
    try:
        await handle.cancel()
    except RPCError as err:
        raise CLIError(f"Cannot cancel run {args.run_id!r}: {err.message}") from None
    _out(f"cancel requested for run {args.run_id}")
    return 0


def cmd_search_attributes(args: argparse.Namespace) -> int:
    from .embedded import SEARCH_ATTRIBUTES

    for name in SEARCH_ATTRIBUTES:
        _out(f"temporal operator search-attribute create --namespace {args.namespace} "
             f"--name {name} --type Keyword")
    return 0
