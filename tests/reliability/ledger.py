"""A file every step execution writes to, so a test counts real executions across processes.

One line per event: ``tag step event pid time``. ``tag`` names the run (its input), ``event`` is
``start`` or ``end``; ``end`` is the step's last act before returning its result to Temporal.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ENV = "REFINIRE_TEST_LEDGER"


def path() -> Path:
    return Path(os.environ[ENV])


def mark(tag: str, step: str, event: str) -> None:
    with path().open("a") as f:
        f.write(f"{tag} {step} {event} {os.getpid()} {time.time():.6f}\n")
        f.flush()


def release_file(tag: str, ledger: Path | None = None) -> Path:
    return Path(f"{ledger or path()}.{tag}.release")


def block_until_released(tag: str, deadline_s: float = 120) -> None:
    """Hold the step open until the test says so: the moment to kill a worker is a ledger line."""
    release = release_file(tag)
    end = time.monotonic() + deadline_s
    while not release.exists():
        if time.monotonic() > end:
            raise TimeoutError(f"nobody released {release}")
        time.sleep(0.02)


@dataclass(frozen=True)
class Line:
    tag: str
    step: str
    event: str
    pid: int
    t: float


def read(ledger: Path) -> list[Line]:
    if not ledger.exists():
        return []
    out = []
    for raw in ledger.read_text().splitlines():
        parts = raw.split()
        if len(parts) == 5:
            out.append(Line(parts[0], parts[1], parts[2], int(parts[3]), float(parts[4])))
    return out


def counts(ledger: Path, tag: str | None = None) -> Counter:
    """(step, event) -> how many times, for one run or all."""
    return Counter((x.step, x.event) for x in read(ledger) if tag is None or x.tag == tag)


def has(ledger: Path, tag: str, step: str, event: str, n: int = 1) -> bool:
    return counts(ledger, tag)[(step, event)] >= n
