"""CLI commands that must be separate processes: `server` in the foreground, and `worker` serving a
run started elsewhere with `run --detach`, with console tracing and a Prometheus endpoint."""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import procs
from client.operations import cli
from client.connection import embedded
from workflows.io import FlowResult


async def test_worker_serves_a_detached_run_with_tracing_and_metrics(tmp_path, client, capsys):
    ledger = tmp_path / "steps.log"
    Path(str(ledger) + ".fixed").touch()
    metrics_port = embedded.free_port()
    log = tmp_path / "worker.log"
    worker = procs.start(["-m", "client", "worker", "flows.ops", "--console-tracing",
                          "--metrics-port", str(metrics_port)], log, REFINIRE_TEST_LOG=str(ledger))
    try:
        procs.wait_for(lambda: "serving 'flows.ops:pipeline'" in log.read_text(), "the worker to serve")
        run_id = f"detached-{uuid.uuid4().hex[:8]}"
        assert await cli.amain(["run", "flows.ops:pipeline", "in", "--detach", "--id", run_id]) == 0
        assert capsys.readouterr().out.strip() == run_id
        result = await client.get_workflow_handle(run_id, result_type=FlowResult).result()
        assert result.output == "in>fetch>enrich>fragile(fetched=True)>publish"
        assert procs.lines(ledger) == ["fetch", "enrich", "fragile", "publish"]

        text = log.read_text()
        for step in ("fetch", "enrich", "fragile", "publish"):
            assert text.count(f"▶ flows.ops:pipeline · {step} · function started (run {run_id})") == 1
            assert text.count(f"✓ flows.ops:pipeline · {step} · function finished in") == 1
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as resp:
            metrics = resp.read().decode()
        assert "temporal_activity_execution_latency" in metrics or "temporal_request" in metrics
    finally:
        procs.stop(worker)


def test_server_runs_in_the_foreground_with_our_search_attributes(tmp_path):
    port, ui_port = embedded.free_port(), embedded.free_port()
    env = procs.env(REFINIRE_DATA_DIR=str(tmp_path / "data"))
    env.pop("TEMPORAL_ADDRESS", None)
    log = tmp_path / "server.log"
    proc = subprocess.Popen([sys.executable, "-m", "client", "server", "--port", str(port),
                             "--ui-port", str(ui_port)], cwd=procs.TESTS, env=env,
                            stdout=open(log, "ab"), stderr=subprocess.STDOUT)
    try:
        embedded.wait_listening(port, 60, proc, log)
        procs.wait_for(lambda: embedded.listening(ui_port), "the Web UI")
        assert f"Web UI http://localhost:{ui_port}" in log.read_text()
        assert (tmp_path / "data" / "temporal.db").exists()
        listed = subprocess.run([embedded.temporal_binary(), "operator", "search-attribute", "list",
                                 "--address", f"127.0.0.1:{port}"], capture_output=True, text=True,
                                timeout=30)
        assert all(name in listed.stdout for name in embedded.SEARCH_ATTRIBUTES), listed.stdout
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            procs.kill(proc)
    assert not embedded.listening(port)


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "refinire-flow"
    done = subprocess.run([str(script), "search-attributes"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"temporal operator search-attribute create --namespace default --name {name} --type Keyword"
        for name in embedded.SEARCH_ATTRIBUTES]
    assert embedded.SEARCH_ATTRIBUTES == ("FlowName", "FlowStep", "FlowStatus")
