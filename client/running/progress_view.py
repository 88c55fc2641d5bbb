"""How a run's progress reads in a terminal: a live line (rich) on a TTY, plain lines otherwise.

The live display redraws one status in place: the step, the steps done, the time since the run
began, the running step's attempts and last failure, and a waiting question with the command that
answers it. It is transient: once the run ends it is gone, and what the command prints stays.

Plain lines are for pipes, files and CI logs: a line at once when a question is asked or no worker
answers and, for progress (steps done, a step's attempts), at most one line every ``PLAIN_EVERY_S``
seconds with the latest step, count and attempt. A loop of thousands of steps prints a few lines a minute,
not a line per step.
"""

from __future__ import annotations

from shlex import quote

import os
import sys
import time
from typing import IO, Protocol

from rich.console import Console, Group
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from client.history.listing import duration

from .progress import Look

__all__ = ["Display", "LiveDisplay", "PlainDisplay", "PROGRESS_ENV", "display_for", "state_line"]

PROGRESS_ENV = "REFINIRE_PROGRESS"
"""``0`` (or ``off``) turns off the progress of ``flow.run``, ``refinire-flow run`` and ``rerun``."""
PLAIN_EVERY_S = 2.0
"""Plain output prints a change of step at most this often (seconds)."""
SCRIPT_DELAY_S = 3.0
"""A script's ``flow.run`` shows progress only once its run has lasted this long (seconds)."""
_LONG = 240
STARTING = "starting"


class Display(Protocol):
    def update(self, look: Look) -> None: ...

    def close(self) -> None: ...


def _short(text: str) -> str:
    text = " ".join(part.strip() for part in str(text).splitlines() if part.strip())
    return text if len(text) <= _LONG else text[:_LONG - 1] + "…"


def _steps(n: int) -> str:
    return f"{n} step{'' if n == 1 else 's'} done"


def answer_hint(look: Look) -> str:
    return f"answer with `refinire-flow answer {quote(look.run_id)} TEXT`"


def no_worker(look: Look) -> str | None:
    """What to say when no worker answered, or ``None`` when one did."""
    if look.worker == "none":
        return (f"no worker runs flow {look.flow!r} (task queue {look.queue!r}): the run waits until "
                "one does (`refinire-flow worker MODULE`, or the script that started it)")
    if look.worker == "silent":
        return (f"the worker of flow {look.flow!r} does not answer (busy, or stopped in the last "
                "minutes): steps done and questions are unknown until it does")
    return None


def state_line(look: Look) -> str:
    """The run's state as one plain line, without the time."""
    if look.question is not None:
        q = look.question
        return f"waiting at step {q.step!r} for an answer: {_short(q.question)} · {answer_hint(look)}"
    parts = []
    if look.step:
        parts.append(f"step {look.step!r}" + (f" ({look.kind})" if look.kind else ""))
    if look.done is not None:
        parts.append(_steps(look.done))
    branches = [a for a in look.attempts if "/" in a.step]
    if len(branches) > 1:
        parts.append(f"{len(branches)} branches running")
    for a in look.attempts:
        if a.attempt > 1:
            of = f" of {a.max_attempts}" if a.max_attempts else ""
            what = f"{a.step!r} attempt {a.attempt}{of}" + (" (waiting to retry)" if a.retrying else "")
            parts.append(what + (f", last failure: {_short(a.last_failure)}" if a.last_failure else ""))
    if look.worker != "answers":
        parts.append(no_worker(look) or "")
    return " · ".join(parts) or STARTING


class PlainDisplay:
    """Plain lines on a stream that is not a terminal."""

    def __init__(self, stream: IO[str], every_s: float = PLAIN_EVERY_S) -> None:
        self.stream, self.every_s = stream, every_s
        self._state: tuple | None = None
        self._shown: tuple = ()
        self._printed_at = float("-inf")
        self._held = False
        self._headed = False

    def update(self, look: Look) -> None:
        if not look.running:
            return  # the command says how the run ended
        if not self._headed:
            self._write(f"run {look.run_id} · flow {look.flow}")
            self._headed = True
        if state_line(look) == STARTING:
            return  # no step entered yet: nothing to say
        state = (look.question, look.worker)
        now = time.monotonic()
        if state != self._state:
            self._line(look, now)
        elif self._progress(look) != self._shown or self._held:
            if now - self._printed_at >= self.every_s:
                self._line(look, now)
            else:
                self._held = True
        self._state = state

    def _line(self, look: Look, now: float) -> None:
        self._write(f"{duration(look.elapsed_s()):>7}  {state_line(look)}")
        self._shown, self._printed_at, self._held = self._progress(look), now, False

    @staticmethod
    def _progress(look: Look) -> tuple:
        return look.step, look.done, tuple((a.step, a.attempt, a.last_failure) for a in look.attempts
                                           if a.attempt > 1)

    def _write(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def close(self) -> None:
        pass


class LiveDisplay:
    """A status redrawn in place on a terminal (rich); gone once closed."""

    def __init__(self, console: Console, delay_s: float = 0.0) -> None:
        self.console, self.delay_s = console, delay_s
        self.look: Look | None = None
        self.live: Live | None = None
        self._born = time.monotonic()
        self._spinner = Spinner("dots", style="cyan")

    def update(self, look: Look) -> None:
        self.look = look
        if self.live is None and look.running and time.monotonic() - self._born >= self.delay_s:
            # Prints during the run (a step's, a log line) go above the status when they go to the
            # terminal; output piped to a file stays in the file.
            self.live = Live(self, console=self.console, refresh_per_second=8, transient=True,
                             redirect_stdout=_terminal(sys.stdout), redirect_stderr=_terminal(sys.stderr))
            self.live.start()
        elif self.live is not None and look.ended:
            self.close()

    def __rich__(self) -> Table | Group:
        return render_look(self.look, self._spinner) if self.look is not None else Group()

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None


def render_look(look: Look, spinner: Spinner | None = None) -> Table:
    """The live status of a run as a rich renderable."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=2)
    grid.add_column()
    head = Text()
    if look.step:
        head.append(look.step, style="bold cyan")
        head.append(f" ({look.kind})" if look.kind else "", style="cyan")
    else:
        head.append(STARTING, style="cyan")
    if look.done is not None:
        head.append(" · ").append(_steps(look.done), style="green")
    head.append(" · ").append(duration(look.elapsed_s()), style="dim")
    grid.add_row("", Text(f"run {look.run_id} · flow {look.flow}", style="dim"))
    grid.add_row(spinner or "", head)
    for a in look.attempts:
        if a.attempt > 1:
            of = f" of {a.max_attempts}" if a.max_attempts else ""
            line = Text(f"{a.step}: attempt {a.attempt}{of}", style="yellow")
            if a.retrying:
                line.append(" (waiting to retry)", style="yellow")
            if a.last_failure:
                line.append(" · last failure: ", style="yellow").append(_short(a.last_failure), style="red")
            grid.add_row(Text("↻", style="yellow"), line)
    if look.question is not None:
        q = look.question
        grid.add_row(Text("?", style="bold magenta"),
                     Text.assemble((f"{q.step} asks: ", "magenta"), (_short(q.question), "bold"),
                                   ("\n" + answer_hint(look), "dim")))
    if look.worker != "answers":
        grid.add_row(Text("!", style="bold red"), Text(no_worker(look) or "", style="red"))
    return grid


def _off() -> bool:
    return os.environ.get(PROGRESS_ENV, "").strip().lower() in ("0", "off", "no", "false")


def display_for(stream: IO[str], *, command: bool, always: bool = False) -> Display | None:
    """The display for a run's progress on ``stream``, or ``None`` for none.

    Args:
        stream: where progress goes (stderr for ``run``, whose stdout is the result).
        command: for a ``refinire-flow`` command: plain lines when ``stream`` is not a terminal.
            Otherwise (a script's ``flow.run``) only on a terminal, after ``SCRIPT_DELAY_S``.
        always: ignore ``REFINIRE_PROGRESS`` (``watch`` is the progress).
    """
    if _off() and not always:
        return None
    if _terminal(stream):  # a real one: FORCE_COLOR colours text, it does not make a pipe redrawable
        if not command and not _terminal(sys.stdout):
            return None  # a script's output goes to a file: leave its terminal alone
        return LiveDisplay(Console(file=stream), delay_s=0.0 if command else SCRIPT_DELAY_S)
    return PlainDisplay(stream) if command else None


def _terminal(stream: IO[str]) -> bool:
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        return False
    return tty and os.environ.get("TERM", "") != "dumb"
