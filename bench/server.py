"""The bench's own embedded server: a fresh SQLite file on a free port, timed until a client connects."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import AsyncIterator

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


def _start(db: Path, port: int, log: Path, search_attributes: bool) -> subprocess.Popen:
    if search_attributes:
        return embedded.start_server(db, port, None, detached=False, log_file=log)
    cmd = embedded.server_command(db, port, None)
    for name in embedded.SEARCH_ATTRIBUTES:
        i = cmd.index(f"{name}=Keyword")
        del cmd[i - 1:i + 1]
    with open(log, "ab") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


@contextlib.asynccontextmanager
async def bench_server(deadline_s: float = 60, *,
                       search_attributes: bool = True) -> AsyncIterator[tuple[str, float]]:
    """Yield (address, start-up seconds); TEMPORAL_ADDRESS points at it while the block runs, so
    ``client.connection.connect`` (and ``flow.run``) use it like any configured cluster.

    Without ``search_attributes`` the server lacks FlowName/FlowStep/FlowStatus, like a cluster
    nobody registered them on: runs then upsert none, which isolates what the upserts cost."""
    saved = {k: os.environ.get(k) for k in ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "REFINIRE_DATA_DIR")}
    with tempfile.TemporaryDirectory(prefix="refinire-bench-") as root:
        port = embedded.free_port()
        log = Path(root) / "server.log"
        t0 = time.perf_counter()
        proc = _start(Path(root) / "temporal.db", port, log, search_attributes)
        try:
            address = f"127.0.0.1:{port}"
            await _connect_when_up(address, proc, log, deadline_s)
            started = time.perf_counter() - t0
            os.environ.update(TEMPORAL_ADDRESS=address, TEMPORAL_NAMESPACE="default",
                              REFINIRE_DATA_DIR=root)
            yield address, started
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
