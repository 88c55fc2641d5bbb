"""A worker killed between two generations of an evaluated agent: the run resumes on a new worker
and the finished first generation (and its evaluation) is never asked of the model again."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from pathlib import Path

from refinire import Flow, RefinireAgent, RetrySpec

ROOT = Path(__file__).resolve().parent.parent

CRASH_FLOW = Flow(
    steps=RefinireAgent("essay", "Write an essay", "Judge the essay", model="m-test", threshold=80,
                        max_retries=2, heartbeat=1,
                        retry=RetrySpec(max_attempts=5, initial_interval_s=0.2, max_interval_s=0.5)),
    name="agents-crash-test",
)


async def test_killed_worker_resumes_without_repeating_the_first_generation(llm, client, tmp_path):
    from openai_server import Reply
    from client.serving.worker import build_worker

    hold = threading.Event()
    llm.script("gen one", {"score": 30, "feedback": "needs more"},
               Reply("lost with the worker", hold=hold), "gen two", {"score": 90, "feedback": "ok"})
    handle = await CRASH_FLOW.start_run("topic")
    log = open(tmp_path / "worker.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "worker.py", "test_agents_crash"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), str(ROOT)])})
    try:
        await asyncio.to_thread(llm.wait_for, lambda r: r.activity == "essay#1.gen2", 60)
    finally:
        proc.kill()
        proc.wait(10)
        hold.set()
        log.close()
    async with build_worker(client, CRASH_FLOW, sticky_timeout_s=1):
        result = await asyncio.wait_for(handle.result(), 60)
    calls = [r.activity for r in llm.requests]
    assert calls.count("essay#1.gen1") == 1, calls
    assert calls.count("essay#1.eval1") == 1, calls
    assert calls.count("essay#1.gen2") == 2, calls
    assert str(result) == "gen two"
    assert result.evaluation_result["score"] == 90
    assert [(u["kind"], u["attempt"]) for u in result.usage] == [
        ("generate", 1), ("evaluate", 1), ("generate", 2), ("evaluate", 2)]
