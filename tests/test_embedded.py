"""The embedded default: with no TEMPORAL_* settings, a script reuses the server on the embedded
port or starts ``temporal server start-dev`` itself, detached, on a SQLite file under
REFINIRE_DATA_DIR, and the run survives in that file.

The embedded ports are free ones (``REFINIRE_EMBEDDED_PORT`` / ``REFINIRE_EMBEDDED_UI_PORT``), never
the developer's 7233/8233, so two test sessions at once never share (or stop) a server.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import procs
from client.connection import embedded

SCRIPT = """
import asyncio
from refinire import Flow, FunctionStep
hello = Flow(steps=[FunctionStep("hello", lambda data, ctx: f"hello {data}")])
result = asyncio.run(hello.run("embedded"))
print("RESULT", result, result.run_id, result.ui_url)
"""


def two_free_ports() -> tuple[int, int]:
    port = embedded.free_port()
    ui_port = embedded.free_port()
    while ui_port == port:
        ui_port = embedded.free_port()
    return port, ui_port


def server_args(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")


def test_a_script_with_no_configuration_starts_the_embedded_server_on_its_port(tmp_path):
    port, ui_port = two_free_ports()
    env = {k: v for k, v in procs.env().items() if not k.startswith("TEMPORAL_")}
    env.update(REFINIRE_DATA_DIR=str(tmp_path), REFINIRE_EMBEDDED_PORT=str(port),
               REFINIRE_EMBEDDED_UI_PORT=str(ui_port))
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    pid_file = tmp_path / "server.pid"
    try:
        assert out.returncode == 0, out.stderr
        assert re.fullmatch(rf"RESULT hello embedded (hello-\S+) http://localhost:{ui_port}/namespaces/"
                            r"default/workflows/\1\n", out.stdout), out.stdout
        # This script started the server, detached: it outlives the script, on the ports asked for.
        pid = int(pid_file.read_text())
        assert (tmp_path / "temporal.db").exists()
        args = server_args(pid)
        assert args[args.index("--port") + 1] == str(port)
        assert args[args.index("--ui-port") + 1] == str(ui_port)
        assert args[args.index("--db-filename") + 1] == str(tmp_path / "temporal.db")
        assert embedded.listening(port) and embedded.is_temporal(port)
        procs.wait_for(lambda: embedded.listening(ui_port), "the embedded server's Web UI", 30)
        # A second script reuses it: it starts no other server.
        again = subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=tmp_path,
                               capture_output=True, text=True, timeout=120)
        assert again.returncode == 0, again.stderr
        assert again.stdout.startswith("RESULT hello embedded hello-")
        assert int(pid_file.read_text()) == pid
    finally:
        if pid_file.exists():
            os.kill(int(pid_file.read_text()), signal.SIGTERM)
            procs.wait_for(lambda: not embedded.listening(port), "the embedded server to stop", 20)


def test_a_bad_embedded_port_is_refused_naming_the_variable(tmp_path):
    env = {k: v for k, v in procs.env().items() if not k.startswith("TEMPORAL_")}
    env.update(REFINIRE_DATA_DIR=str(tmp_path), REFINIRE_EMBEDDED_PORT="72x33")
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines()[-1] == (
        "refinire.errors.SettingError: REFINIRE_EMBEDDED_PORT='72x33' is not a port: set it to a number from 1 to "
        "65535, or unset it for the default 7233.")
    assert not (tmp_path / "server.pid").exists()


def test_the_server_command_takes_its_ports_from_the_same_variables(temporal_server, tmp_path):
    """``refinire-flow server`` with no ``--port`` uses REFINIRE_EMBEDDED_PORT: here the session's
    server is on it, so it says scripts reach that server as they are, and exits 2."""
    port = temporal_server["port"]
    env = {k: v for k, v in procs.env().items() if not k.startswith("TEMPORAL_")}
    env.update(REFINIRE_DATA_DIR=str(tmp_path), REFINIRE_EMBEDDED_PORT=str(port),
               REFINIRE_EMBEDDED_UI_PORT=str(embedded.free_port()))
    out = subprocess.run([sys.executable, "-m", "client", "server"], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip().splitlines() == [
        f"error: A Temporal server is already listening on 127.0.0.1:{port}: reuse it (scripts and "
        "refinire-flow connect to it as they are), or start another one with --port N --ui-port M."]
