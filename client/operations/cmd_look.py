"""The commands that look at runs without changing them: ``runs`` (the list), ``show`` (a run's
history, or a flow's structure), ``watch`` (follow a run to its end) and ``replay`` (the gate
before a deploy)."""

from __future__ import annotations

from shlex import quote

import argparse
import sys

from refinire.errors import FlowExecutionError

from .exits import EXIT_FAILED, EXIT_OK, CLIError, Interrupt, UsageError, err, out
from .targets import connected, describe_run, flow_code


async def cmd_runs(args: argparse.Namespace) -> int:
    from client.history.listing import list_runs

    from .colour import print_runs

    limit = None if args.all else args.limit
    rows = await list_runs(await connected(), flow=args.flow, status=args.status,
                           limit=None if limit is None else limit + 1)
    cut = limit is not None and len(rows) > limit
    rows = rows[:limit] if cut else rows
    if rows:
        print_runs(rows, sys.stdout)
    else:
        out("no runs")
    for r in rows:
        if r.status == "stuck":
            err(f"run {r.run_id} is stuck: its workflow task keeps failing; `refinire-flow show {quote(r.run_id)}` says why")
    if cut:
        err(f"showing the newest {limit} runs; more exist: --limit N or --all shows them")
    return EXIT_OK


async def cmd_show(args: argparse.Namespace) -> int:
    from client.serving.modules import FLOW_REF

    from .colour import print_show

    if FLOW_REF.match(args.target):
        from refinire.rendering import render_spec

        text = render_spec(flow_code(args.target).spec, args.format)
    else:
        from client.history.trace import render_run

        client = await connected()
        await describe_run(client, args.target)
        text = await render_run(client, args.target, args.format)
    if args.format == "text":
        print_show(text, sys.stdout)  # coloured on a terminal
    else:
        out(text)
    return EXIT_OK


async def cmd_replay(args: argparse.Namespace) -> int:
    from .replay import replay_runs

    if not args.runs and not args.flow:
        raise UsageError("Name runs to replay (replay RUN_ID ...) or a flow (replay --flow NAME).")
    client = await connected()
    for run_id in args.runs:
        await describe_run(client, run_id)
    verdicts = await replay_runs(client, args.runs, flow=args.flow, limit=args.limit,
                                 modules=args.module)
    if not verdicts:
        raise UsageError(f"No runs of flow {args.flow!r} to replay: check the name "
                         "(`refinire-flow runs` shows the flow of each run).")
    for v in verdicts:
        (out if v.ok else err)(v.line())
    bad = [v for v in verdicts if not v.ok]
    out(f"{len(verdicts) - len(bad)} of {len(verdicts)} runs replay with the current code")
    unloaded = sorted({v.flow for v in bad if v.no_code})
    if unloaded:  # nothing was checked for those runs: not a verdict a deploy gate may read as one
        raise UsageError(f"The code of flow{'s' if len(unloaded) > 1 else ''} {', '.join(map(repr, unloaded))} "
                         "cannot be loaded here, so its runs were not replayed: run replay where the "
                         "flow's modules import (the project's directory), or name them with --module.")
    return EXIT_FAILED if bad else EXIT_OK


async def cmd_watch(args: argparse.Namespace) -> int:
    from .watch import watch
    from client.history.listing import duration

    client = await connected()
    await describe_run(client, args.run_id)
    run_id = args.run_id
    Interrupt.hint = (f"run {run_id} goes on in Temporal: `refinire-flow watch {quote(run_id)}` follows it "
                      f"again, `refinire-flow cancel {quote(run_id)}` stops it")
    see = f"`refinire-flow show {quote(run_id)}`"
    try:
        look, steps, _ = await watch(client, run_id, sys.stdout)
    except FlowExecutionError as exc:
        text = str(exc)
        raise CLIError(text if see in text else f"{text.rstrip('.')}. See it with {see}.") from None
    took = f" after {steps} step{'' if steps == 1 else 's'}" if steps is not None else ""
    out(f"run {run_id} completed in {duration(look.elapsed_s())}{took}: {see} shows its result "
         "and history")
    return EXIT_OK
