"""What ``refinire-flow`` says when a command ends: its exit statuses, the errors that carry them,
and the two streams (stdout for what a script pipes on, stderr for progress and verdicts).

A problem is raised as a :class:`CLIError` carrying its exit status (see :data:`EXIT_CODES`);
``cli.py`` prints it as one line.
"""

from __future__ import annotations

import sys

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_INTERRUPTED = 130
EXIT_PIPE = 141

EXIT_CODES: tuple[tuple[int, str], ...] = (
    (EXIT_OK, "done: the run completed, every replayed run is compatible, the command did what it says"),
    (EXIT_FAILED, "the run failed, was cancelled, timed out or was terminated; replay found a run the "
                  "current code cannot replay; any unexpected error"),
    (EXIT_USAGE, "bad usage: bad arguments (a port outside 1-65535, a limit below 1), a bad setting "
                 "(a REFINIRE_* variable such as REFINIRE_CONNECT_TIMEOUT=abc), an unknown flow "
                 "or module, an unknown run id, the run id of another flow's run (run --id), a step "
                 "unknown to the flow or not reached by the run (rerun --from), a run not in a state for the command (answer to a run that "
                 "waits for nothing, cancel of a finished run, rerun of a running one), nothing to "
                 "replay, a port already in use (server)"),
    (EXIT_UNREACHABLE, "cannot connect to Temporal (nothing answers at the address, TLS or "
                       "credentials refused, or the embedded server could not start)"),
    (EXIT_INTERRUPTED, "interrupted (Ctrl-C); a run it started goes on in Temporal"),
    (EXIT_PIPE, "what read its output stopped reading (`head` or a pager closed the pipe), as a "
                "process ended by SIGPIPE; nothing else went wrong"),
)
"""What each exit status of ``refinire-flow`` means (printed by ``--help``, tabled in the README)."""


class CLIError(Exception):
    """A problem the user can fix; printed as one line, exits with ``exit_code``."""

    exit_code = EXIT_FAILED


class UsageError(CLIError):
    """The command cannot be carried out as asked: fix the arguments."""

    exit_code = EXIT_USAGE


class Unreachable(CLIError):
    """No Temporal to talk to."""

    exit_code = EXIT_UNREACHABLE


class Interrupt:
    """What to say if Ctrl-C ends the command: set by a command once it has something to say."""

    hint: str | None = None


def interrupt_hint() -> str | None:
    return Interrupt.hint


def out(text: str = "") -> None:
    print(text, flush=True)


def err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def one_line(text: str) -> str:
    """Messages may hold a cause's own newlines; an error is one line."""
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())
