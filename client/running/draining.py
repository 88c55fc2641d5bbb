"""How an in-process worker stops: it never abandons a step it took, unless told twice.

A script's worker (``flow.run``, ``refinire-flow run``, ``rerun``) serves its flow's task queue
while the script's run is open, like any worker of the flow, so it may be executing a step of
another run of the flow (one a long-lived ``refinire-flow worker`` serves too) when it stops.
Cancelling that attempt would cost the other run one of its retries (with ``retry=1``, the run).
So a stopping in-process worker behaves like ``refinire-flow worker`` on SIGTERM:

- it stops polling at once: it takes no new step, of any run;
- the steps it is executing get the graceful shutdown window to finish (``REFINIRE_GRACEFUL_SHUTDOWN``
  seconds, default 30): their results are recorded and their runs go on, attempt counts untouched;
  stderr names each ("finishing step 'x' of run 'Y' ...") so the script's stdout stays the user's;
- an attempt still running when the window ends is cancelled by the SDK (it counts as a failed
  attempt; Temporal retries it per the step's policy), and stderr says so;
- Ctrl-C during the window leaves at once, exit status 130: the attempt is lost, and Temporal runs
  it again after the step's heartbeat timeout (a failed attempt); stderr says so.

The window opens when the script's last run in this event loop returns, and on the first Ctrl-C
(``asyncio.run`` turns it into a cancellation of the script's main task, which reaches here).
With nothing in flight the worker stops at once and nothing is printed.

``flow.run`` returns after the drain, not before: when a script's main coroutine returns,
``asyncio.run`` cancels every task left in the loop, the SDK's own included, so a drain left to run
in the background would abandon the step after all. A second Ctrl-C leaves with ``os._exit``:
a sync step's thread cannot be stopped, and a normal exit would wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
from typing import Any, Iterator

from temporalio.worker import Worker

from client.connection import settings
from client.connection.exit_guard import EXIT_INTERRUPTED
from client.serving.inflight import InFlight

__all__ = ["GRACE_ENV", "drain", "grace_s"]

GRACE_ENV = "REFINIRE_GRACEFUL_SHUTDOWN"
DEFAULT_GRACE_S = 30.0


def grace_s() -> float:
    """The in-process worker's graceful shutdown window in seconds, from ``REFINIRE_GRACEFUL_SHUTDOWN``.

    Raises:
        SettingError: The variable is not a number of seconds from 0 to a day (a ValueError).
    """
    return settings.seconds(GRACE_ENV, DEFAULT_GRACE_S, zero="abandons them",
                            meaning="how long a stopping script's worker lets the steps it runs finish")


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@contextlib.contextmanager
def _second_ctrl_c_leaves(tracked: InFlight) -> Iterator[None]:
    """While the window is open, Ctrl-C leaves the process at once (main thread only: elsewhere
    signals are not ours to handle)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def leave(signum: int, frame: Any) -> None:
        for attempt in tracked.running():
            _say(f"abandoned {attempt}: this attempt is lost; Temporal runs the step again "
                 f"{attempt.retried_after()}, and the lost attempt counts against its retries")
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(EXIT_INTERRUPTED)

    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, leave)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)


async def drain(worker: Worker, task: asyncio.Task, tracked: InFlight, window_s: float) -> None:
    """Stop ``worker`` (whose ``run()`` is ``task``): no new steps, the running ones get ``window_s``
    seconds to finish (the worker was built with that ``graceful_shutdown_timeout``); see the
    module's docstring for what is said and what Ctrl-C does meanwhile."""
    current = asyncio.current_task()
    interrupted = current is not None and current.cancelling() > 0
    running = tracked.running() if not task.done() else []
    again = "Ctrl-C again" if interrupted else "Ctrl-C"
    for attempt in running:
        _say(f"finishing {attempt} before exiting (up to {window_s:g} s); {again} to abandon it")
    with _second_ctrl_c_leaves(tracked) if running else contextlib.nullcontext():
        if not task.done():
            await worker.shutdown()
        with contextlib.suppress(BaseException):
            await task
    for attempt in running:
        if attempt in tracked.cancelled:
            _say(f"{attempt} did not finish within {window_s:g} s: its attempt was cancelled and "
                 "counts against the step's retries")
        else:
            _say(f"finished {attempt}")
