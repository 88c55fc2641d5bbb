"""The commands that act on a run in flight: ``answer`` the question it waits on, ``cancel`` it.
Both refuse a run that has ended (bad usage), naming how it ended."""

from __future__ import annotations

from shlex import quote

import argparse
from datetime import timedelta
from typing import Any

from .exits import EXIT_OK, CLIError, UsageError, err, out
from .targets import connected, describe_run, ended_as


async def cmd_answer(args: argparse.Namespace) -> int:
    from client.running.handle import AnswerRejected, RunHandle

    from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError

    from client.running.progress import has_worker

    client = await connected()
    desc = await describe_run(client, args.run_id)
    ended = ended_as(desc)
    if ended:
        raise UsageError(f"Run {args.run_id!r} has ended ({ended}): it waits for no answer. "
                         "`refinire-flow show` it to see how it ended.")
    handle = client.get_workflow_handle(args.run_id)
    queue = desc.task_queue
    # An answer is an update, which only a worker can accept: sent with no worker, it would wait in
    # Temporal and be applied whenever a worker came back, long after this command gave up. So a
    # worker must answer a query first (Temporal lists a stopped worker's polls for minutes).
    if not await has_worker(client, queue) or not await _answers_queries(handle):
        raise CLIError(f"Run {args.run_id!r} has no worker: nothing serving its task queue {queue!r} "
                       "answered, so the answer was not sent. Start a worker for its flow "
                       "(`refinire-flow worker MODULE`, or the script that started the run) and answer again.")
    run = RunHandle(handle, None, client)  # type: ignore[arg-type]
    try:
        accepted = await run.answer(args.text, args.step)
    except AnswerRejected as exc:
        raise UsageError(str(exc)) from None
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        raise CLIError(f"Run {args.run_id!r}: no worker took the answer in time. It waits in Temporal "
                       "and is applied when a worker for the run's flow next runs; `refinire-flow "
                       f"show {quote(args.run_id)}` tells whether it was.") from None
    out(f"answered step {accepted.step!r} of run {args.run_id}")
    return EXIT_OK


async def _answers_queries(handle: Any, within_s: float = 5.0) -> bool:
    """Whether a worker answers a query on the run within ``within_s`` seconds."""
    from temporalio.client import WorkflowQueryFailedError
    from temporalio.service import RPCError

    try:
        await handle.query("pending_question", rpc_timeout=timedelta(seconds=within_s))
    except WorkflowQueryFailedError:
        return True  # a worker ran the query (and it failed there): the worker is alive
    except RPCError:
        return False
    return True


async def cmd_cancel(args: argparse.Namespace) -> int:
    from temporalio.service import RPCError

    client = await connected()
    desc = await describe_run(client, args.run_id)
    ended = ended_as(desc)
    if ended:
        raise UsageError(f"Run {args.run_id!r} has already ended ({ended}): there is nothing to cancel.")
    handle = client.get_workflow_handle(args.run_id)
    try:
        await handle.cancel()
    except RPCError as exc:
        raise UsageError(f"Cannot cancel run {args.run_id!r}: {exc.message}") from None
    out(f"cancel requested for run {args.run_id}")
    queue = desc.task_queue
    from client.running.progress import has_worker

    if not await has_worker(client, queue):
        err(f"no worker polls {queue!r} now: the run ends CANCELED once a worker for its flow runs "
             "(`refinire-flow worker MODULE`, or the script that started it); until then it shows "
             "as running, and a step that was interrupted may start once more before it stops")
    return EXIT_OK
