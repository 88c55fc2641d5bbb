"""Follow a run while it goes: the progress beside ``run``, ``rerun``
and a script's ``flow.run``.

Progress is a look at Temporal every ``POLL_S`` seconds (``progress.py``), shown by a display
(``progress_view.py``; ``refinire-flow watch`` is ``client/operations/watch.py``). Beside a run it is best effort: a look that fails stops the display,
never the run. ``refinire-flow`` commands wrap their wait in ``for_command`` so that progress also
shows as plain lines when stderr is not a terminal; a script's ``flow.run`` shows it only on a
terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import sys
from typing import IO, TYPE_CHECKING, AsyncIterator, Iterator

from temporalio.client import Client


from .progress import Look, RunWatcher

if TYPE_CHECKING:
    from .progress_view import Display

__all__ = ["POLL_S", "follow", "for_command", "showing"]

POLL_S = 0.5
"""Seconds between two looks at a run."""

_COMMAND: contextvars.ContextVar[bool] = contextvars.ContextVar("refinire_progress_command", default=False)


@contextlib.contextmanager
def for_command() -> Iterator[None]:
    """Progress shown inside the block is a command's: plain lines when not on a terminal."""
    token = _COMMAND.set(True)
    try:
        yield
    finally:
        _COMMAND.reset(token)


async def follow(watcher: RunWatcher, display: "Display", poll_s: float = POLL_S) -> Look:
    """Show the run until it ends; returns the last look (the run's end)."""
    while True:
        look = await watcher.look()
        display.update(look)
        if look.ended:
            return look
        await asyncio.sleep(poll_s)


@contextlib.asynccontextmanager
async def showing(client: Client, run_id: str, *, command: bool | None = None) -> AsyncIterator[None]:
    """Show the run's progress on stderr while the block waits for its result.

    Args:
        command: for a ``refinire-flow`` command (plain lines when stderr is not a terminal);
            by default, whether the caller is inside ``for_command``.
    """
    command = _COMMAND.get() if command is None else command
    if not command and not _isatty(sys.stderr):  # a script away from a terminal: nothing to show
        yield
        return
    from .progress_view import display_for  # rich: imported only when there may be a display

    display = display_for(sys.stderr, command=command)
    if display is None:
        yield
        return
    task = asyncio.create_task(_quietly(follow(RunWatcher(client, run_id), display)))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        display.close()


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


async def _quietly(job: "asyncio.Future[Look] | object") -> None:
    with contextlib.suppress(Exception):
        await job  # type: ignore[misc]
