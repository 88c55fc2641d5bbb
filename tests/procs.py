"""Worker and script subprocesses for the durability tests: started, watched, killed for real."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import contextlib
import time
from pathlib import Path
from typing import Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"


def env(**extra: str) -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([str(TESTS), str(ROOT), e.get("PYTHONPATH", "")])
    e["PYTHONUNBUFFERED"] = "1"
    e.update(extra)
    return e


def start(args: list[str], log: Path, **extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *args], cwd=TESTS, env=env(**extra),
                            stdout=open(log, "ab"), stderr=subprocess.STDOUT)


def start_worker(modules: list[str], log: Path, **extra: str) -> subprocess.Popen:
    return start([str(ROOT / "worker.py"), *modules], log, **extra)


def kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(10)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            kill(proc)


def wait_for(predicate: Callable[[], bool], what: str, deadline_s: float = 30) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {deadline_s}s waiting for {what}")


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


@contextlib.contextmanager
def dev_server(root: Path, *, ui: bool = False) -> Iterator[dict]:
    """A real ``temporal server start-dev`` on free ports with its SQLite file under ``root``
    (and its Web UI when ``ui``), stopped when the block ends. Yields its address, port, UI port,
    database file, process, log file and root."""
    from client.connection import embedded

    port = embedded.free_port()
    ui_port = embedded.free_port() if ui else None
    log = root / "server.log"
    proc = embedded.start_server(root / "temporal.db", port, ui_port, detached=False, log_file=log)
    try:
        embedded.wait_listening(port, 60, proc, log)
        if ui_port is not None:
            embedded.wait_listening(ui_port, 60, proc, log)
        yield {"address": f"127.0.0.1:{port}", "port": port, "ui_port": ui_port, "db": root / "temporal.db",
               "proc": proc, "log": log, "root": root}
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


async def connect_when_ready(address: str, deadline_s: float = 60):
    """A client of a server that has just started: its port opens before its frontend is healthy
    ("Frontend is not healthy yet"), so connecting is retried until it is, or the deadline."""
    import asyncio

    from temporalio.client import Client

    from client.connection.codec import data_converter

    end = time.monotonic() + deadline_s
    while True:
        try:
            return await Client.connect(address, data_converter=data_converter())
        except RuntimeError as exc:
            if "not healthy" not in str(exc) or time.monotonic() > end:
                raise
            await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def serving(client, *flows):
    """In-process workers (``build_worker``) for ``flows`` while the block runs."""
    import asyncio

    from client.serving.worker import build_worker

    workers = [build_worker(client, f) for f in flows]
    tasks = [asyncio.create_task(w.run()) for w in workers]
    try:
        yield
    finally:
        for w in workers:
            await w.shutdown()
        for t in tasks:
            with contextlib.suppress(BaseException):
                await t
