"""End a process that used Temporal with its own exit status, never with the SDK's crash.

The SDK's native threads can abort CPython's finalisation ("PyGILState_Release: thread state ...
must be current", sdk-python issue 300): a thread that still needs the GIL when finalisation
begins is ended mid-call and the process dies with SIGABRT or SIGSEGV instead of its status.

- A user's script ends as Python ends it (its open files flushed and closed, its ``atexit``
  handlers run once, the status CPython gives it), after :func:`.native_threads.settle` has let
  those threads finish: :func:`install` registers that wait with the first connection.
- The ``refinire-flow`` command knows its status and leaves no work for a teardown:
  :func:`leave` runs the ``atexit`` handlers once and ends with ``os._exit``.

``REFINIRE_NO_EXIT_GUARD=1`` turns both off (plain CPython teardown).
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
from typing import NoReturn

from . import native_threads

EXIT_INTERRUPTED = 130
"""Ctrl-C: the shell's status for a process ended by SIGINT (128 + 2)."""

_installed = False


def disabled() -> bool:
    return bool(os.environ.get("REFINIRE_NO_EXIT_GUARD"))


def install() -> None:
    """Before this process first uses Temporal: at exit, wait for the SDK's threads to settle."""
    global _installed
    if _installed or disabled():
        return
    _installed = True
    atexit.register(native_threads.settle)


def leave(code: int) -> NoReturn:
    """End the ``refinire-flow`` process with ``code`` once its ``atexit`` handlers have run and its
    output is flushed (the caller flushes stdout first, to report a failed write)."""
    try:
        atexit._run_exitfuncs()
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
    finally:
        os._exit(code)
