"""Exit cleanly after using Temporal in a short script, with the script's own exit status.

The SDK's Rust threads can abort CPython's finalisation ("PyGILState_Release: thread state ... must
be current", sdk-python issue 300), turning a successful script into a SIGABRT. Once a script has
used Temporal, an atexit handler runs the remaining atexit handlers itself and leaves with
``os._exit`` — but only with a status it knows is the script's own:

- the script's main module ran to its end: 0;
- an exception nobody caught ended it: 1 (``KeyboardInterrupt``, Ctrl-C: 130);
- ``sys.exit(code)`` called after the first connection ended it: ``code`` (as Python maps it);
- the ``refinire-flow`` command declared its status (:func:`declare`).

Any other ending (``raise SystemExit(3)``, or ``sys.exit(asyncio.run(main()))``, whose ``sys.exit``
was looked up before Temporal was used) leaves the status unknown here: the handler then waits
for the SDK's native threads to let go of Python (:mod:`.native_threads`) and steps aside, and
CPython's normal teardown exits with the status the script gave. How the main module
ended is read from its frame (the instruction it stopped at), which needs no tracing. (One case is
taken for another: a ``sys.exit(a)`` caught, then ``raise SystemExit(b)`` in the same top-level
statement, ends with ``a``.)

Under pytest, in an interactive interpreter and for ``python -c`` only the wait for the native
threads is installed; ``REFINIRE_NO_EXIT_GUARD=1`` turns both off.
"""

from __future__ import annotations

import atexit
import dis
import logging
import os
import sys
import threading
from types import FrameType
from typing import Any

from . import native_threads

EXIT_INTERRUPTED = 130
"""Ctrl-C: the shell's status for a process ended by SIGINT (128 + 2)."""

_installed = False
_main_frame: FrameType | None = None
_exit_call: tuple[int, int] | None = None
"""The last ``sys.exit`` through our wrapper: (its status, the main frame's instruction then)."""
_uncaught: int | None = None
_declared: int | None = None

_RETURNS = {dis.opmap[name] for name in ("RETURN_VALUE", "RETURN_CONST") if name in dis.opmap}


def exit_status(code: Any) -> int:
    """The process status Python gives ``SystemExit(code)`` (a message string is printed by Python)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    return 1


def declare(code: int) -> None:
    """An entry point's own exit status, for a process that ends right after it returns."""
    global _declared
    _declared = int(code)


def _find_main_frame() -> FrameType | None:
    """The outermost frame running the ``__main__`` module's code, in the main thread."""
    main = sys.modules.get("__main__")
    thread = threading.main_thread().ident
    frame = sys._current_frames().get(thread) if thread is not None else None
    found = None
    while frame is not None:
        if frame.f_code.co_name == "<module>" and main is not None and frame.f_globals is vars(main):
            found = frame
        frame = frame.f_back
    return found


def _ended_normally(frame: FrameType) -> bool:
    code = frame.f_code.co_code
    return 0 <= frame.f_lasti < len(code) and code[frame.f_lasti] in _RETURNS


def known_status() -> int | None:
    """The script's exit status when this module can tell it, else ``None``."""
    if _uncaught is not None:
        return _uncaught
    frame = _main_frame
    if frame is not None and _ended_normally(frame):
        return 0
    if _exit_call is not None and frame is not None and _exit_call[1] == frame.f_lasti:
        return _exit_call[0]  # the main module stopped in the statement that called sys.exit
    return _declared


def _guard() -> None:
    atexit.unregister(_guard)
    status = known_status()
    if status is None:
        native_threads.settle()  # CPython's own teardown keeps the status the script gave
        return
    try:
        atexit._run_exitfuncs()
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
    finally:
        os._exit(status)


def install() -> None:
    global _installed, _main_frame
    if _installed or os.environ.get("REFINIRE_NO_EXIT_GUARD"):
        return
    _installed = True
    main = sys.modules.get("__main__")
    if "pytest" in sys.modules or sys.flags.interactive or not getattr(main, "__file__", None):
        atexit.register(native_threads.settle)  # no status to keep: only let the threads settle
        return
    _main_frame = _find_main_frame()
    original_exit, original_hook = sys.exit, sys.excepthook

    def exit(*args: Any) -> None:
        global _exit_call
        try:
            original_exit(*args)
        except SystemExit as exc:
            frame = _main_frame
            _exit_call = (exit_status(exc.code), frame.f_lasti if frame is not None else -1)
            raise

    def excepthook(kind, value, tb) -> None:
        global _uncaught
        _uncaught = EXIT_INTERRUPTED if issubclass(kind, KeyboardInterrupt) else 1
        original_hook(kind, value, tb)

    sys.exit, sys.excepthook = exit, excepthook
    atexit.register(_guard)
