"""The commands that act on a run in flight: ``answer`` the question it waits on, ``cancel`` it.
Both refuse a run that has ended (bad usage), naming how it ended."""

from __future__ import annotations

import argparse

from .exits import EXIT_OK, UsageError, err, out
from .targets import connected, describe_run, ended_as


async def cmd_answer(args: argparse.Namespace) -> int:
    from client.running.handle import AnswerRejected, RunHandle

    client = await connected()
    ended = ended_as(await describe_run(client, args.run_id))
    if ended:
        raise UsageError(f"Run {args.run_id!r} has ended ({ended}): it waits for no answer. "
                         "`refinire-flow show` it to see how it ended.")
    run = RunHandle(client.get_workflow_handle(args.run_id), None, client)  # type: ignore[arg-type]
    try:
        accepted = await run.answer(args.text, args.step)
    except AnswerRejected as exc:
        raise UsageError(str(exc)) from None
    out(f"answered step {accepted.step!r} of run {args.run_id}")
    return EXIT_OK


async def cmd_cancel(args: argparse.Namespace) -> int:
    from temporalio.service import RPCError

    client = await connected()
    ended = ended_as(await describe_run(client, args.run_id))
    if ended:
        raise UsageError(f"Run {args.run_id!r} has already ended ({ended}): there is nothing to cancel.")
    handle = client.get_workflow_handle(args.run_id)
    try:
        await handle.cancel()
    except RPCError as exc:
        raise UsageError(f"Cannot cancel run {args.run_id!r}: {exc.message}") from None
    out(f"cancel requested for run {args.run_id}")
    queue = (await handle.describe()).task_queue
    from client.running.progress import has_worker

    if not await has_worker(client, queue):
        err(f"no worker polls {queue!r} now: the run ends CANCELED once a worker for its flow runs "
             "(`refinire-flow worker MODULE`, or the script that started it); until then it shows "
             "as running, and a step that was interrupted may start once more before it stops")
    return EXIT_OK
