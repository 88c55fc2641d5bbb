"""refinire-flow: run and operate durable flows from the command line.

Everything it shows comes from Temporal, so it works from any machine, for any run, after any
crash. Errors are one line on stderr (``error: ...``) and a non-zero exit status, one per kind of
problem (:data:`client.operations.exits.EXIT_CODES`, printed by ``--help``).
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import os
import sys
from typing import Any, Sequence

from refinire.errors import FlowDefinitionError, FlowExecutionError, SettingError

from client.connection import codec_server, embedded, exit_guard
from .cmd_control import cmd_answer, cmd_cancel
from .cmd_look import cmd_replay, cmd_runs, cmd_show, cmd_watch
from .cmd_run import cmd_rerun, cmd_run
from .cmd_serve import cmd_codec_server, cmd_search_attributes, cmd_server, cmd_worker
from .exits import (
    EXIT_CODES,
    EXIT_OK,
    EXIT_PIPE,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    CLIError,
    err,
    interrupt_hint,
    one_line,
)


def exit_codes_help() -> str:
    width = max(len(str(code)) for code, _ in EXIT_CODES)
    lines = [f"  {code:<{width}}  {text}" for code, text in EXIT_CODES]
    return "exit status:\n" + "\n".join(lines)


class _Parser(argparse.ArgumentParser):
    """argparse with our error format: one line naming the command, what is wrong and where to look."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(EXIT_USAGE, f"error: {self.prog}: {message}. See `{self.prog} --help`.\n")


# Parser ----------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    from client.serving import worker

    from client.history.listing import STATUSES

    p = _Parser(prog="refinire-flow", description=__doc__.splitlines()[0], epilog=exit_codes_help(),
                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, func: Any, help: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help, description=help)
        sp.set_defaults(func=func)
        return sp

    sp = command("server", cmd_server, "Run the embedded Temporal dev server and its Web UI in the foreground.")
    sp.add_argument("--port", type=embedded.port_argument, help="default: REFINIRE_EMBEDDED_PORT, else 7233")
    sp.add_argument("--ui-port", type=embedded.port_argument, help="default: REFINIRE_EMBEDDED_UI_PORT, else 8233")
    sp.add_argument("--log-level", default="warn", choices=["debug", "info", "warn", "error"])

    sp = command("worker", cmd_worker, "Serve the module-level flows of the modules (python worker.py).")
    worker.add_arguments(sp)

    sp = command("run", cmd_run, "Run a flow and print its result (or only start it with --detach).")
    sp.add_argument("flow", metavar="MODULE:FLOW")
    sp.add_argument("input", nargs="?", metavar="INPUT", help="JSON, or plain text")
    sp.add_argument("--id", metavar="RUN_ID", help="run id; an existing run with this id is attached to")
    sp.add_argument("--detach", action="store_true",
                    help="start the run for a worker elsewhere and print its id")

    sp = command("runs", cmd_runs, "List runs from Temporal's visibility.")
    sp.add_argument("--flow", metavar="NAME")
    sp.add_argument("--status", choices=list(STATUSES))
    sp.add_argument("--limit", type=_limit(all_option=True), default=20,
                    help="show at most this many runs (default 20)")
    sp.add_argument("--all", action="store_true", help="show every run")

    sp = command("show", cmd_show, "Show a run (with its history) or a flow's structure (MODULE:FLOW).")
    sp.add_argument("target", metavar="RUN_ID|MODULE:FLOW")
    sp.add_argument("--format", choices=["text", "mermaid"], default="text")

    sp = command("replay", cmd_replay, "Replay recorded runs with the current code (the gate before a deploy).")
    sp.add_argument("runs", nargs="*", metavar="RUN_ID")
    sp.add_argument("--flow", metavar="NAME", help="replay the latest runs of this flow")
    sp.add_argument("--limit", type=_limit(all_option=False), default=20,
                    help="replay at most this many of the flow's latest runs (default 20)")
    sp.add_argument("--module", action="append", default=[], metavar="MODULE",
                    help="module with the flow's code (needed when the flow has an explicit name)")

    sp = command("rerun", cmd_rerun, "Run a run again from a step (default: the step that failed).")
    sp.add_argument("run_id", metavar="RUN_ID")
    sp.add_argument("--from", dest="from_step", metavar="STEP")
    sp.add_argument("--id", metavar="NEW_RUN_ID")
    sp.add_argument("--detach", action="store_true", help="only start it, for a worker elsewhere")
    sp.add_argument("--module", action="append", default=[], metavar="MODULE",
                    help="module with the flow's code (needed when the flow has an explicit name)")

    sp = command("watch", cmd_watch, "Follow a run's progress until it ends; exits with its outcome.")
    sp.add_argument("run_id", metavar="RUN_ID")

    sp = command("answer", cmd_answer, "Answer the question a run is waiting on.")
    sp.add_argument("run_id", metavar="RUN_ID")
    sp.add_argument("text", metavar="TEXT")
    sp.add_argument("--step", help="the waiting step's key or name (checked by the run)")

    sp = command("cancel", cmd_cancel, "Cancel a run.")
    sp.add_argument("run_id", metavar="RUN_ID")

    sp = command("search-attributes", cmd_search_attributes,
                 "Print the command that registers our search attributes on a cluster.")
    sp.add_argument("--namespace", default="default")

    sp = command("codec-server", cmd_codec_server,
                 "Serve the payload codec so the Temporal UI can decrypt runs (needs REFINIRE_PAYLOAD_KEY).")
    codec_server.add_arguments(sp)
    return p


def _report(exc: BaseException) -> int:
    """Print the one line a person reads; return the exit status for this kind of problem."""
    from temporalio.service import RPCError, RPCStatusCode

    if isinstance(exc, SystemExit):
        if isinstance(exc.code, str):
            err(f"error: {one_line(exc.code)}")
            return EXIT_USAGE
        raise exc
    if isinstance(exc, CLIError):
        err(f"error: {one_line(str(exc))}")
        return exc.exit_code
    if isinstance(exc, (FlowDefinitionError, SettingError)):
        err(f"error: {one_line(str(exc))}")
        return EXIT_USAGE
    if isinstance(exc, FlowExecutionError):
        err(f"error: {one_line(str(exc))}")
        return EXIT_FAILED
    if isinstance(exc, RPCError) and exc.status in (RPCStatusCode.UNAVAILABLE,
                                                    RPCStatusCode.DEADLINE_EXCEEDED):
        err(f"error: Lost Temporal: {one_line(exc.message)}. Check that the server is up "
             "(`refinire-flow server`) and TEMPORAL_ADDRESS.")
        return EXIT_UNREACHABLE
    err(f"error: {type(exc).__name__}: {one_line(str(exc))}")
    return EXIT_FAILED


def _interrupted() -> int:
    hint = interrupt_hint()
    err("interrupted" + (f": {hint}" if hint else ""))
    return EXIT_INTERRUPTED


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The arguments; one that is not UTF-8 (bytes a terminal in another encoding sent) is bad usage."""
    parser = build_parser()
    args = parser.parse_args(argv)
    for value in vars(args).values():
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str):
                try:
                    text.encode("utf-8")
                except UnicodeEncodeError:
                    shown = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                    parser.error(f"argument {shown!r} is not UTF-8 text: pass arguments in UTF-8 (set "
                                 "the terminal's encoding, LANG/LC_ALL, to UTF-8)")
    return args


async def amain(argv: Sequence[str] | None = None) -> int:
    """The CLI for callers that already run an event loop (tests, notebooks): async commands only."""
    args = _parse_args(argv)
    try:
        outcome = args.func(args)
        if inspect.isawaitable(outcome):
            outcome = await outcome
        return int(outcome or 0)
    except (Exception, SystemExit) as exc:
        return _report(exc)


def _main(argv: Sequence[str] | None) -> int:
    args = _parse_args(argv)
    try:
        if inspect.iscoroutinefunction(args.func):
            return int(asyncio.run(args.func(args)) or 0)
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return _interrupted()
    except BrokenPipeError:
        return _reader_gone()
    except (Exception, SystemExit) as exc:
        return _report(exc)


def _reader_gone() -> int:
    """stdout's reader left (``| head``): say nothing more, and never write to the pipe again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_PIPE


def _limit(all_option: bool) -> Any:
    """``--limit``: a whole number of runs, at least 1 (``runs`` also has ``--all``)."""
    more = " (--all for every run)" if all_option else ""

    def limit(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number; use 1 or more{more}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{value} runs shows nothing; use 1 or more{more}")
        return value

    return limit


def main(argv: Sequence[str] | None = None) -> int:
    """``refinire-flow``: returns the exit status (the console script passes it to ``sys.exit``)."""
    if argv is None:  # the program itself: its stdout is for what it prints (client/connection/core_logs.py)
        from client.connection.core_logs import forward_core_logs

        forward_core_logs()
    try:
        code = _main(argv)
    except KeyboardInterrupt:
        code = _interrupted()
    if argv is None:  # the program itself: this status is the process's (client/connection/exit_guard.py)
        if not exit_guard.disabled():
            exit_guard.leave(_flushed(code))
    return code


def _flushed(code: int) -> int:
    """``code`` once stdout is flushed; a write that fails now is the command's failure too."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        return _reader_gone()
    except OSError as exc:
        if code == EXIT_OK:  # else the command has said what went wrong
            err(f"error: cannot write the output: {exc}")
        return code or EXIT_FAILED
    return code


if __name__ == "__main__":
    sys.exit(main())
