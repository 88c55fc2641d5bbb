"""``refinire-flow watch RUN_ID``: follow any run to its end, from any terminal."""

from __future__ import annotations

from typing import IO

from temporalio.client import Client

from client.running.follow import follow
from client.running.progress import Look, RunWatcher
from client.running.progress_view import display_for
from client.running.start import wait_result
from workflows.io import FlowResult

__all__ = ["watch"]


async def watch(client: Client, run_id: str, stream: IO[str]) -> tuple[Look, int | None, FlowResult]:
    """Follow a run to its end; returns its last look, the steps it took (when known) and its
    result.

    Raises:
        refinire.errors.FlowExecutionError: the run failed, was cancelled, terminated or timed out.
    """
    display = display_for(stream, command=True, always=True)
    assert display is not None
    watcher = RunWatcher(client, run_id)
    try:
        look = await follow(watcher, display)
    finally:
        display.close()
    outcome = await wait_result(client.get_workflow_handle(run_id, result_type=FlowResult), look.flow)
    return look, watcher.steps_done(outcome.path), outcome
