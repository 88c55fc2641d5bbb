"""Colour for ``refinire-flow show`` and ``runs`` on a terminal; the same text, plain, everywhere else.

The text comes from the pure renderers (``refinire._show``, ``client.runs.format_table``); this only
styles it for a person at a terminal: headings, step names, each step's status (completed green,
retried yellow, running cyan, failed red) and the run's. A pipe, a file, ``NO_COLOR`` or ``TERM=dumb``
get the text exactly as rendered; ``FORCE_COLOR`` colours a pipe too (for ``less -R``).
"""

from __future__ import annotations

import os
import re
from typing import IO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from client.history.listing import RunRow, format_table

__all__ = ["STATUS_STYLES", "colour_console", "print_runs", "print_show", "style_show"]

STATUS_STYLES = {
    "completed": "green", "retried": "yellow", "running": "cyan", "waiting": "yellow", "failed": "red",
    "canceled": "magenta", "cancelled": "magenta", "terminated": "magenta", "timed_out": "red",
    "timedout": "red", "continuedasnew": "cyan", "skipped": "dim",
}
_RUN_HEAD = re.compile(r"^Execution History \(run (?P<id>.+): (?P<status>\w+)\)$")
_STEP = re.compile(r"^(?P<pad>\s*)→ (?P<name>[^(]+?)(?P<rest> \(.*)?$")


def colour_console(stream: IO[str]) -> Console | None:
    """A console that colours ``stream``, or ``None`` when its text should stay plain."""
    if os.environ.get("NO_COLOR"):  # no-color.org: present and not empty
        return None
    console = Console(file=stream, highlight=False, soft_wrap=True)
    if not console.is_terminal or console.is_dumb_terminal or console.color_system is None:
        return None
    return console


def _status_style(word: str) -> str:
    return STATUS_STYLES.get(word.lower().replace(" ", "").replace("_", ""), "")


def style_show(text: str) -> Text:
    """``show``'s text with styles; its characters unchanged."""
    out = Text()
    status_at: int | None = None
    for i, line in enumerate(text.split("\n")):
        t = Text(line)
        head = _RUN_HEAD.match(line)
        step = _STEP.match(line)
        if line in ("Flow Diagram:",) or line.startswith("Flow Structure"):
            t.stylize("bold")
        elif head:
            t.stylize("bold")
            t.stylize(_status_style(head["status"]), head.start("status"), head.end("status"))
        elif line and set(line) == {"="}:
            t.stylize("dim")
        elif line.startswith("Error: "):
            t.stylize("red")
        elif line.startswith("#  step"):
            t.stylize("bold")
            status_at = line.rfind("status")
        elif status_at is not None and _is_row(line, status_at):
            word = line[status_at:].split(" ", 1)[0]
            t.stylize(_status_style(word), status_at)
        elif step:
            t.stylize("dim", 0, len(step["pad"]) + 1)
            t.stylize("bold cyan", step.start("name"), step.end("name"))
        elif status_at is not None and line.startswith(" "):
            t.stylize("dim")  # a step's decision, score, tokens
        if i:
            out.append("\n")
        out.append_text(t)
    return out


def _is_row(line: str, status_at: int) -> bool:
    return len(line) > status_at and (line[:1].isdigit() or line.lstrip().startswith("∥"))


def print_show(text: str, stream: IO[str]) -> None:
    """Print ``show``'s output, coloured on a terminal."""
    console = colour_console(stream)
    if console is None:
        print(text, file=stream, flush=True)
    else:
        console.print(style_show(text))


def print_runs(rows: list[RunRow], stream: IO[str]) -> None:
    """``runs``' table: a rich table on a terminal, plain aligned columns otherwise."""
    console = colour_console(stream)
    if console is None:
        print(format_table(rows), file=stream, flush=True)
        return
    from client.history.listing import table_cells

    header, body = table_cells(rows)
    table = Table(box=None, header_style="bold", pad_edge=False)
    for i, name in enumerate(header):
        # On a narrow terminal only the flow and the step are cut: a run id is copied into commands.
        whole = max(len(c) for c in [name, *(cells[i] for cells in body)])
        table.add_column(name, no_wrap=True, overflow="ellipsis",
                         min_width=None if name in ("FLOW", "STEP") else whole)
    for row, cells in zip(rows, body):
        table.add_row(*cells[:2], Text(cells[2], style=_status_style(row.status)), *cells[3:])
    console.print(table)
