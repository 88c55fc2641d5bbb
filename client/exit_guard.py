"""Exit cleanly after using Temporal in a short script.

The SDK's Rust threads can abort CPython's finalisation ("PyGILState_Release: thread state ... must
be current", sdk-python issue 300), turning a successful script into a SIGABRT. Once a script has
used Temporal, we run the remaining atexit handlers ourselves and leave with ``os._exit`` and the
exit status the script meant: 0, the code given to ``sys.exit``, or 1 after an uncaught exception.
Not installed under pytest or in an interactive interpreter; ``REFINIRE_NO_EXIT_GUARD=1`` turns it off.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
from typing import Any

_installed = False
_code: Any = 0


def _exit_status(code: Any) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _guard() -> None:
    atexit.unregister(_guard)
    try:
        atexit._run_exitfuncs()
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
    finally:
        os._exit(_exit_status(_code))


def install() -> None:
    global _installed
    if _installed or os.environ.get("REFINIRE_NO_EXIT_GUARD") or "pytest" in sys.modules:
        return
    main = sys.modules.get("__main__")
    if sys.flags.interactive or not getattr(main, "__file__", None):
        return
    _installed = True
    original_exit, original_hook = sys.exit, sys.excepthook

    def exit(code: Any = None) -> None:
        global _code
        _code = code
        original_exit(code)

    def excepthook(kind, value, tb) -> None:
        global _code
        _code = 1
        original_hook(kind, value, tb)

    sys.exit, sys.excepthook = exit, excepthook
    atexit.register(_guard)
