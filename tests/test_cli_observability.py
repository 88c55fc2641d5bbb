"""Console tracing from the worker (one line per step start and finish, none on replay) and the
trace registry answering from Temporal's visibility."""

from __future__ import annotations

import asyncio
import io
import time
import uuid
from pathlib import Path

import pytest

from client.operations import cli
from refinire import enable_console_tracing, get_global_registry
from refinire.observability import disable_console_tracing

FLOW = "flows.ops:pipeline"


@pytest.fixture
def ready(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    ledger = tmp_path / "steps.log"
    monkeypatch.setenv("REFINIRE_TEST_LOG", str(ledger))
    Path(str(ledger) + ".fixed").touch()
    return ledger


async def test_console_tracing_prints_each_step_once_and_nothing_on_replay(ready, capsys):
    stream = io.StringIO()
    enable_console_tracing(stream)
    try:
        run_id = f"traced-{uuid.uuid4().hex[:8]}"
        assert await cli.amain(["run", FLOW, "t", "--id", run_id]) == 0
        lines = stream.getvalue().splitlines()
        assert len(lines) == 8
        for step in ("fetch", "enrich", "fragile", "publish"):
            assert sum(f"▶ {FLOW} · {step} · function started (run {run_id})" in line for line in lines) == 1
            assert sum(f"✓ {FLOW} · {step} · function finished in" in line for line in lines) == 1
        assert await cli.amain(["replay", run_id]) == 0
        assert len(stream.getvalue().splitlines()) == 8
    finally:
        disable_console_tracing()
    assert await cli.amain(["run", FLOW, "quiet"]) == 0
    assert len(stream.getvalue().splitlines()) == 8


async def test_registry_answers_which_runs_exist_and_their_state(ready, capsys):
    done, failed = f"reg-ok-{uuid.uuid4().hex[:8]}", f"reg-fail-{uuid.uuid4().hex[:8]}"
    assert await cli.amain(["run", FLOW, "r", "--id", done]) == 0
    Path(str(ready) + ".fixed").unlink()
    assert await cli.amain(["run", FLOW, "r", "--id", failed]) == 1
    registry = get_global_registry()

    end = time.monotonic() + 20
    while True:
        found = {r.trace_id: r for r in registry.search_by_flow_name(FLOW, limit=200)}
        if done in found and failed in found and found[failed].status == "failed":
            break
        assert time.monotonic() < end, "runs did not appear in visibility"
        await asyncio.sleep(0.1)
    assert found[done].status == "completed" and found[done].flow_name == FLOW
    assert found[failed].current_step == "fragile"
    assert [r.trace_id for r in registry.search_by_flow_name(FLOW, status="failed", limit=200)].count(failed) == 1
    assert done not in {r.trace_id for r in registry.search_by_flow_name(FLOW, status="failed", limit=200)}

    trace = registry.get_trace(done)
    assert trace is not None and trace.status == "completed" and trace.end_time is not None
    assert registry.get_trace("no-such-run") is None
    by_agent = {r.trace_id for r in registry.search_by_agent_name("enrich", limit=200)}
    assert done in by_agent and failed in by_agent

    registry.register_trace("local-trace", flow_name=FLOW, agent_names=["writer"], tags={"team": "ops"})
    assert registry.get_trace("local-trace").tags == {"team": "ops"}
    assert "local-trace" in {r.trace_id for r in registry.search_by_agent_name("writer")}
