"""Let the SDK's native threads finish touching Python before CPython finalises.

The Temporal SDK completes each call on a Tokio thread that takes the GIL to hand the result to
asyncio (pyo3-async-runtimes). A thread that asks for the GIL once finalisation has begun is ended
by CPython mid-call, and the process dies with SIGABRT or SIGSEGV instead of the script's status
(sdk-python issue 300). A script's caller can already have its result while that thread still
needs the GIL once more (it gave it up for the write that woke the event loop), so the race is
real even when nothing is pending: on a loaded 2-core machine about 1 exit in 30.

:func:`settle` closes it: with the GIL released, it waits until no thread outside Python's own
holds a Python thread state (one that has it, or waits for it) and, on Linux, none is runnable
(one about to ask). A call still outstanding in the SDK (a long poll) can wake later; nothing here
can wait for that.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
import time

_TASKS = "/proc/self/task"


def _thread_states() -> int:
    """How many Python thread states the main interpreter has (one per thread attached to it)."""
    api = ctypes.pythonapi
    api.PyInterpreterState_Main.restype = ctypes.c_void_p
    api.PyInterpreterState_ThreadHead.restype = ctypes.c_void_p
    api.PyInterpreterState_ThreadHead.argtypes = [ctypes.c_void_p]
    api.PyThreadState_Next.restype = ctypes.c_void_p
    api.PyThreadState_Next.argtypes = [ctypes.c_void_p]
    count, state = 0, api.PyInterpreterState_ThreadHead(api.PyInterpreterState_Main())
    while state:
        count += 1
        state = api.PyThreadState_Next(state)
    return count


def _python_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if not isinstance(t, threading._DummyThread)]


def _runnable_native_threads(python_ids: set[int]) -> int:
    """Threads Python did not start that are running or waiting for a CPU (Linux; else 0)."""
    try:
        tids = os.listdir(_TASKS)
    except OSError:
        return 0
    runnable = 0
    for tid in tids:
        if int(tid) in python_ids:
            continue
        try:
            with open(f"{_TASKS}/{tid}/stat", "rb") as stat:
                state = stat.read().rpartition(b")")[2].split()[0]
        except (OSError, IndexError):
            continue  # the thread ended
        runnable += state not in (b"S", b"D", b"I", b"Z", b"X")
    return runnable


def busy() -> bool:
    """Whether a thread Python did not start is attached to Python or about to run."""
    python = _python_threads()
    if _thread_states() > len(python):
        return True
    return _runnable_native_threads({t.native_id for t in python if t.native_id is not None}) > 0


def settle(timeout_s: float = 1.0, step_s: float = 0.002) -> bool:
    """Release the GIL until no native thread needs it (see the module's docstring).

    Returns:
        ``True`` once quiet; ``False`` when ``timeout_s`` (seconds) passed first.
    """
    if sys.implementation.name != "cpython":
        return False
    end = time.monotonic() + timeout_s
    while True:
        time.sleep(step_s)
        if not busy():
            return True
        if time.monotonic() >= end:
            return False
