"""The embedded default: with no TEMPORAL_* settings, a script reuses the server on
localhost:7233 or starts ``temporal server start-dev`` itself, detached, on a SQLite file under
REFINIRE_DATA_DIR, and the run survives in that file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import procs
from client.connection import embedded

SCRIPT = """
import asyncio
from refinire import Flow, FunctionStep
hello = Flow(steps=[FunctionStep("hello", lambda data, ctx: f"hello {data}")])
result = asyncio.run(hello.run("embedded"))
print("RESULT", result, result.run_id, result.ui_url)
"""


def test_a_script_with_no_configuration_uses_the_embedded_server(tmp_path):
    env = {k: v for k, v in procs.env().items() if not k.startswith("TEMPORAL_")}
    env["REFINIRE_DATA_DIR"] = str(tmp_path)
    was_listening = embedded.listening(embedded.DEFAULT_PORT)
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    pid_file = tmp_path / "server.pid"
    try:
        assert out.returncode == 0, out.stderr
        assert "RESULT hello embedded hello-" in out.stdout
        assert "http://localhost:8233/namespaces/default/workflows/hello-" in out.stdout
        if not was_listening:  # this script started it: detached, outliving the script
            assert pid_file.exists() and (tmp_path / "temporal.db").exists()
            assert embedded.listening(embedded.DEFAULT_PORT)
    finally:
        if pid_file.exists():
            os.kill(int(pid_file.read_text()), signal.SIGTERM)
            procs.wait_for(lambda: not embedded.listening(embedded.DEFAULT_PORT),
                           "the embedded server to stop", 20)
