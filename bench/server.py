"""The bench's own servers: a fresh SQLite file on a free port, timed until a client connects.

``bench_server`` is the embedded default (``client.connection.embedded``'s tuned ``start-dev`` flags) and is
what every scenario runs on; ``stock_server`` is ``temporal server start-dev`` with a database file
and no other flag but the port, as one keeps runs across restarts (what the embedded default
replaces), to measure what the tuned flags give per step.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import AsyncIterator, Callable

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from client.connection import embedded


async def _connect_when_up(address: str, proc: subprocess.Popen, log: Path, deadline_s: float) -> Client:
    end = time.monotonic() + deadline_s
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"The bench's Temporal server exited with {proc.returncode}:\n"
                               f"{log.read_text()[-2000:]}")
        try:
            return await Client.connect(address, namespace="default",
                                        data_converter=pydantic_data_converter)
        except Exception:
            if time.monotonic() > end:
                raise
            await asyncio.sleep(0.02)


def _embedded_command(db: Path, port: int, search_attributes: bool) -> list[str]:
    cmd = embedded.server_command(db, port, None)
    if not search_attributes:
        for name in embedded.SEARCH_ATTRIBUTES:
            i = cmd.index(f"{name}=Keyword")
            del cmd[i - 1:i + 1]
    return cmd


def stock_command(db: Path, port: int) -> list[str]:
    """``temporal server start-dev --db-filename FILE`` with only what two servers on one machine
    need (SQLite's default journal and ``synchronous=FULL``; without a file the stock server keeps
    everything in memory and loses every run when it stops)."""
    return [embedded.temporal_binary(), "server", "start-dev", "--db-filename", str(db),
            "--port", str(port), "--ip", "127.0.0.1", "--headless"]


@contextlib.asynccontextmanager
async def _server(cmd_for: Callable[[Path, int], list[str]],
                  deadline_s: float) -> AsyncIterator[tuple[str, float, subprocess.Popen, str]]:
    """Yield (address, start-up seconds, process, temporary root); stop the server afterwards."""
    with tempfile.TemporaryDirectory(prefix="refinire-bench-") as root:
        port = embedded.free_port()
        log = Path(root) / "server.log"
        t0 = time.perf_counter()
        with open(log, "ab") as out:
            proc = subprocess.Popen(cmd_for(Path(root) / "temporal.db", port), stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            address = f"127.0.0.1:{port}"
            await _connect_when_up(address, proc, log, deadline_s)
            yield address, time.perf_counter() - t0, proc, root
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextlib.asynccontextmanager
async def bench_server(deadline_s: float = 60, *,
                       search_attributes: bool = True) -> AsyncIterator[tuple[str, float, int]]:
    """Yield (address, start-up seconds, server pid); TEMPORAL_ADDRESS points at it while the block
    runs, so ``client.connection.connect`` (and ``flow.run``) use it like any configured cluster.

    Without ``search_attributes`` the server lacks FlowName/FlowStep/FlowStatus, like a cluster
    nobody registered them on: runs then upsert none, which isolates what the upserts cost."""
    saved = {k: os.environ.get(k) for k in ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "REFINIRE_DATA_DIR")}
    async with _server(lambda db, port: _embedded_command(db, port, search_attributes),
                       deadline_s) as (address, started, proc, root):
        os.environ.update(TEMPORAL_ADDRESS=address, TEMPORAL_NAMESPACE="default", REFINIRE_DATA_DIR=root)
        try:
            yield address, started, proc.pid
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


@contextlib.asynccontextmanager
async def stock_server(deadline_s: float = 60) -> AsyncIterator[tuple[str, float]]:
    """Yield (address, start-up seconds) of a stock ``start-dev`` (see ``stock_command``)."""
    async with _server(stock_command, deadline_s) as (address, started, _, _root):
        yield address, started


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the process has used so far; 0 where /proc is missing."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
