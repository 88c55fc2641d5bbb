"""Logs people can read: a standalone worker logs one line per failed step attempt; tracebacks
only at debug (``--log-level`` / ``REFINIRE_LOG_LEVEL``)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

import procs
from client.running.start import start_run
from client.serving.modules import load_flow
from refinire import FlowExecutionError


@pytest.mark.parametrize("level", ["info", "debug"])
async def test_a_failed_attempt_is_one_line_unless_debugging(level, client, tmp_path, monkeypatch):
    steps_log = tmp_path / "steps.log"
    monkeypatch.setenv("REFINIRE_TEST_LOG", str(steps_log))
    worker_log = tmp_path / "worker.log"
    worker = procs.start_worker(["flows.ops", "--log-level", level], worker_log,
                                REFINIRE_TEST_LOG=str(steps_log))
    flow = load_flow("flows.ops:pipeline")
    try:
        handle = await start_run(client, flow.durable_name, flow, "x", None, f"logs-{uuid.uuid4().hex[:8]}")
        with pytest.raises(Exception):
            await handle.result()
    finally:
        procs.stop(worker)
    text = worker_log.read_text()
    lines = [line for line in text.splitlines() if "failed: ValueError: the fragile step is broken" in line]
    assert lines and all("step 'fragile' attempt" in line for line in lines), text[-3000:]
    if level == "info":
        assert "Traceback" not in text
    else:
        assert "Traceback" in text
