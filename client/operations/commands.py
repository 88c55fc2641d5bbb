"""The commands behind ``refinire-flow``: each takes the parsed arguments and returns an exit code.

Output goes to stdout (what a script would pipe on), progress and verdicts on failure to stderr.
A problem is raised as a :class:`CLIError` carrying its exit status (see :data:`EXIT_CODES`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

from refinire.errors import FlowDefinitionError, FlowExecutionError
from workflows.values import decode

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_INTERRUPTED = 130

EXIT_CODES: tuple[tuple[int, str], ...] = (
    (EXIT_OK, "done: the run completed, every replayed run is compatible, the command did what it says"),
    (EXIT_FAILED, "the run failed, was cancelled, timed out or was terminated; replay found a run the "
                  "current code cannot replay; any unexpected error"),
    (EXIT_USAGE, "bad usage: bad arguments, an unknown flow or module, an unknown run id, an unknown "
                 "step (rerun --from), a run not in a state for the command (answer to a run that "
                 "waits for nothing, cancel of a finished run, rerun of a running one), nothing to "
                 "replay, a port already in use (server)"),
    (EXIT_UNREACHABLE, "cannot connect to Temporal (nothing answers at the address, TLS or "
                       "credentials refused, or the embedded server could not start)"),
    (EXIT_INTERRUPTED, "interrupted (Ctrl-C); a run it started goes on in Temporal"),
)
"""What each exit status of ``refinire-flow`` means (printed by ``--help``, tabled in the README)."""


class CLIError(Exception):
    """A problem the user can fix; printed as one line, exits with ``exit_code``."""

    exit_code = EXIT_FAILED


class UsageError(CLIError):
    """The command cannot be carried out as asked: fix the arguments."""

    exit_code = EXIT_USAGE


class Unreachable(CLIError):
    """No Temporal to talk to."""

    exit_code = EXIT_UNREACHABLE


class _Interrupt:
    """What to say if Ctrl-C ends the command: set by a command once it has something to say."""

    hint: str | None = None


def interrupt_hint() -> str | None:
    return _Interrupt.hint


def _out(text: str = "") -> None:
    print(text, flush=True)


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def one_line(text: str) -> str:
    """Messages may hold a cause's own newlines; an error is one line."""
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


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
    """A connected client, or exit 3 naming the address and the fix."""
    from client.connection.connect import connect

    try:
        return await connect()
    except FlowExecutionError as exc:
        raise Unreachable(str(exc)) from None
    except Exception as exc:
        raise Unreachable(f"Cannot connect to Temporal: {type(exc).__name__}: {exc}") from None


def _loading(what: str, load: Any, *args: Any) -> Any:
    """Load a flow's code; anything that stops it (no module, no flow, a broken definition) is usage."""
    try:
        return load(*args)
    except (CLIError, KeyboardInterrupt):
        raise
    except (FlowExecutionError, FlowDefinitionError) as exc:
        raise UsageError(str(exc)) from None
    except SystemExit as exc:
        raise UsageError(str(exc.code)) from None
    except Exception as exc:
        fix = "Fix the module, then run the command again."
        if "asyncio.run() cannot be called from a running event loop" in str(exc):
            fix = ("The module runs its flow when imported: put `asyncio.run(main())` under "
                   "`if __name__ == \"__main__\":` so the CLI and workers can import its flows.")
        raise UsageError(f"Cannot load {what}: importing it raised {type(exc).__name__}: {exc}. "
                         f"{fix}") from None


def _load_flow(ref: str):
    from client.serving.modules import load_flow

    return _loading(ref, load_flow, ref)


async def _describe(client: Any, run_id: str) -> Any:
    """The run's description, or exit 2 when there is no run with that id."""
    from temporalio.service import RPCError, RPCStatusCode

    try:
        return await client.get_workflow_handle(run_id).describe()
    except RPCError as err:
        if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
            raise UsageError(
                f"No run {run_id!r} in namespace {client.namespace!r}: check the id "
                "(`refinire-flow runs` lists recent runs) and TEMPORAL_ADDRESS/TEMPORAL_NAMESPACE."
            ) from None
        raise


def _closed(desc: Any) -> str | None:
    """The status name of a run that has ended, ``None`` while it runs."""
    status = getattr(desc, "status", None)
    name = getattr(status, "name", None)
    return None if name in (None, "RUNNING") else name.lower().replace("_", " ")


# Commands --------------------------------------------------------------------------------------
def cmd_server(args: argparse.Namespace) -> int:
    from client.connection import embedded

    try:
        args.port = args.port or embedded.configured_port()
        args.ui_port = args.ui_port or embedded.configured_ui_port()
    except RuntimeError as err:
        raise UsageError(str(err)) from None
    if args.port == args.ui_port:
        raise UsageError(f"The server and its Web UI cannot share port {args.port}: give them two "
                         "ports (--port N --ui-port M; defaults 7233 and 8233).")
    where = f"127.0.0.1:{args.port}"
    if not embedded.port_free(args.port):
        from client.connection import exit_guard

        exit_guard.install()  # the probe below starts the SDK's runtime (sdk-python issue 300)
        if embedded.is_temporal(args.port):
            reuse = ("scripts and refinire-flow connect to it as they are" if args.port == embedded.configured_port()
                     else f"point clients at it with TEMPORAL_ADDRESS={where}")
            raise UsageError(
                f"A Temporal server is already listening on {where}: reuse it ({reuse}), or start "
                "another one with --port N --ui-port M.")
        raise UsageError(
            f"Port {args.port} on 127.0.0.1 is taken by another program, not a Temporal server: start "
            "the server on a free port with --port N (and point clients at it with "
            "TEMPORAL_ADDRESS=127.0.0.1:N).")
    if not embedded.port_free(args.ui_port):
        raise UsageError(f"Port {args.ui_port} for the Web UI is taken by another program: pick a free "
                         "one with --ui-port N.")
    root = embedded.data_dir()
    cmd = embedded.server_command(root / "temporal.db", args.port, args.ui_port, log_level=args.log_level)
    _out(f"Temporal dev server on {where}, Web UI http://localhost:{args.ui_port}, "
         f"data in {root} (search attributes {', '.join(embedded.SEARCH_ATTRIBUTES)} registered)")
    os.execv(cmd[0], cmd)  # the server itself takes this process's place, and its signals
    return EXIT_OK


def cmd_worker(args: argparse.Namespace) -> int:
    from client.serving import worker

    from client.serving.modules import import_flows

    _check_worker_numbers(args)
    modules = worker.prepare(args)
    _loading(f"the modules {modules!r}", import_flows, modules)

    async def serve() -> None:
        # Until serve() takes SIGINT/SIGTERM over (then they stop it cleanly: 0), Ctrl-C is 130.
        await worker.serve(modules, await _client(), graceful_shutdown_s=args.graceful_shutdown)

    asyncio.run(serve())
    return EXIT_OK


def _check_worker_numbers(args: argparse.Namespace) -> None:
    """The worker's numeric options, checked before anything starts (argparse only made numbers)."""
    import math

    def bad(option: str, value: Any, fix: str) -> UsageError:
        return UsageError(f"refinire-flow worker: argument {option}: {value!r} {fix}. "
                          "See `refinire-flow worker --help`.")

    port = args.metrics_port
    if port is not None and not 0 < port < 65536:
        raise bad("--metrics-port", port, "is not a port: use a number from 1 to 65535")
    grace = args.graceful_shutdown
    if not math.isfinite(grace) or not 0 <= grace <= 86400:
        raise bad("--graceful-shutdown", grace, "is not a time to wait: use seconds from 0 to 86400 "
                  "(0 stops at once; default 30)")


async def cmd_run(args: argparse.Namespace) -> int:
    from client.running.attach import OtherFlowsRun
    from client.running.follow import for_command
    from client.running.start import start_or_attach

    flow = _load_flow(args.flow)
    data = parse_input(args.input)
    client = await _client()
    try:
        if args.detach:
            handle = await start_or_attach(client, flow.durable_name, flow, data, None, args.id)
            _out(handle.id)
            return EXIT_OK
        flow.last_run_id = None
        _Interrupt.hint = None
        with for_command():
            result = await flow.run(data, run_id=args.id)
    except OtherFlowsRun as exc:
        raise UsageError(str(exc)) from None
    except asyncio.CancelledError:
        if flow.last_run_id:
            _Interrupt.hint = (
                f"run {flow.last_run_id} goes on in Temporal: `refinire-flow run {args.flow} --id "
                f"{flow.last_run_id}` attaches to it, `refinire-flow cancel {flow.last_run_id}` stops it")
        raise
    _err(f"run {result.run_id} completed" + (f" · {result.ui_url}" if result.ui_url else ""))
    _out(_render(result.value))
    return EXIT_OK


async def cmd_runs(args: argparse.Namespace) -> int:
    from client.history.listing import list_runs

    from .colour import print_runs

    limit = None if args.all else args.limit
    rows = await list_runs(await _client(), flow=args.flow, status=args.status,
                           limit=None if limit is None else limit + 1)
    cut = limit is not None and len(rows) > limit
    rows = rows[:limit] if cut else rows
    if rows:
        print_runs(rows, sys.stdout)
    else:
        _out("no runs")
    for r in rows:
        if r.status == "stuck":
            _err(f"run {r.run_id} is stuck: its workflow task keeps failing; `refinire-flow show {r.run_id}` says why")
    if cut:
        _err(f"showing the newest {limit} runs; more exist: --limit N or --all shows them")
    return EXIT_OK


async def cmd_show(args: argparse.Namespace) -> int:
    from client.serving.modules import FLOW_REF

    from .colour import print_show

    if FLOW_REF.match(args.target):
        from refinire.rendering import render_spec

        text = render_spec(_load_flow(args.target).spec, args.format)
    else:
        from client.history.trace import render_run

        client = await _client()
        await _describe(client, args.target)
        text = await render_run(client, args.target, args.format)
    if args.format == "text":
        print_show(text, sys.stdout)  # coloured on a terminal
    else:
        _out(text)
    return EXIT_OK


async def cmd_replay(args: argparse.Namespace) -> int:
    from .replay import replay_runs

    if not args.runs and not args.flow:
        raise UsageError("Name runs to replay (replay RUN_ID ...) or a flow (replay --flow NAME).")
    client = await _client()
    for run_id in args.runs:
        await _describe(client, run_id)
    verdicts = await replay_runs(client, args.runs, flow=args.flow, limit=args.limit,
                                 modules=args.module)
    if not verdicts:
        raise UsageError(f"No runs of flow {args.flow!r} to replay: check the name "
                         "(`refinire-flow runs` shows the flow of each run).")
    for v in verdicts:
        (_out if v.ok else _err)(v.line())
    bad = [v for v in verdicts if not v.ok]
    _out(f"{len(verdicts) - len(bad)} of {len(verdicts)} runs replay with the current code")
    return EXIT_FAILED if bad else EXIT_OK


async def cmd_rerun(args: argparse.Namespace) -> int:
    from client.running.follow import showing
    from client.running.hosting import hosting
    from client.serving.modules import flow_by_name
    from client.history.reader import read_run
    from client.running.rerun import plan
    from client.running.start import wait_result

    client = await _client()
    await _describe(client, args.run_id)
    record = await read_run(client, args.run_id)
    flow = None
    if not args.detach:
        run = record.require_run()
        flow = _loading(f"the code of flow {run.flow_name!r}", flow_by_name,
                        run.flow_name, args.module, run.code)
    try:
        plan(record, args.from_step, flow)
    except FlowExecutionError as exc:
        raise UsageError(str(exc)) from None
    if flow is None:
        handle, _ = await _start_rerun(client, args)
        _out(handle.id)
        return EXIT_OK
    async with hosting(client, flow) as worker_task:
        handle, the_plan = await _start_rerun(client, args, flow)
        _err(f"rerun of {args.run_id} from step {the_plan.step!r}: new run {handle.id}")
        _Interrupt.hint = (f"run {handle.id} goes on in Temporal: `refinire-flow cancel {handle.id}` "
                           "stops it")
        async with showing(client, handle.id, command=True):
            outcome = await wait_result(handle, the_plan.flow_name, worker_task, client=client)
    _out(handle.id)
    _out(_render(decode(outcome.output)))
    return EXIT_OK


async def _start_rerun(client: Any, args: argparse.Namespace, flow: Any = None) -> Any:
    from client.history.steps import StepNotReached
    from client.running.rerun import start_rerun

    try:
        return await start_rerun(client, args.run_id, args.from_step, flow=flow, new_id=args.id)
    except StepNotReached as exc:  # a step of the flow, but not of this run: usage, like an unknown one
        raise UsageError(str(exc)) from None


async def cmd_watch(args: argparse.Namespace) -> int:
    from .watch import watch
    from client.history.listing import duration

    client = await _client()
    await _describe(client, args.run_id)
    run_id = args.run_id
    _Interrupt.hint = (f"run {run_id} goes on in Temporal: `refinire-flow watch {run_id}` follows it "
                       f"again, `refinire-flow cancel {run_id}` stops it")
    see = f"`refinire-flow show {run_id}`"
    try:
        look, steps, _ = await watch(client, run_id, sys.stdout)
    except FlowExecutionError as exc:
        text = str(exc)
        raise CLIError(text if see in text else f"{text.rstrip('.')}. See it with {see}.") from None
    took = f" after {steps} step{'' if steps == 1 else 's'}" if steps is not None else ""
    _out(f"run {run_id} completed in {duration(look.elapsed_s())}{took}: {see} shows its result "
         "and history")
    return EXIT_OK


async def cmd_answer(args: argparse.Namespace) -> int:
    from client.running.handle import AnswerRejected, RunHandle

    client = await _client()
    ended = _closed(await _describe(client, args.run_id))
    if ended:
        raise UsageError(f"Run {args.run_id!r} has ended ({ended}): it waits for no answer. "
                         "`refinire-flow show` it to see how it ended.")
    run = RunHandle(client.get_workflow_handle(args.run_id), None, client)  # type: ignore[arg-type]
    try:
        accepted = await run.answer(args.text, args.step)
    except AnswerRejected as exc:
        raise UsageError(str(exc)) from None
    _out(f"answered step {accepted.step!r} of run {args.run_id}")
    return EXIT_OK


async def cmd_cancel(args: argparse.Namespace) -> int:
    from temporalio.service import RPCError

    client = await _client()
    ended = _closed(await _describe(client, args.run_id))
    if ended:
        raise UsageError(f"Run {args.run_id!r} has already ended ({ended}): there is nothing to cancel.")
    handle = client.get_workflow_handle(args.run_id)
    try:
        await handle.cancel()
    except RPCError as err:
        raise UsageError(f"Cannot cancel run {args.run_id!r}: {err.message}") from None
    _out(f"cancel requested for run {args.run_id}")
    queue = (await handle.describe()).task_queue
    from client.running.progress import has_worker

    if not await has_worker(client, queue):
        _err(f"no worker polls {queue!r} now: the run ends CANCELED once a worker for its flow runs "
             "(`refinire-flow worker MODULE`, or the script that started it); until then it shows "
             "as running, and a step that was interrupted may start once more before it stops")
    return EXIT_OK


def cmd_search_attributes(args: argparse.Namespace) -> int:
    from client.connection.embedded import SEARCH_ATTRIBUTES

    for name in SEARCH_ATTRIBUTES:
        _out(f"temporal operator search-attribute create --namespace {args.namespace} "
             f"--name {name} --type Keyword")
    return EXIT_OK
