"""``TraceRegistry.search_by_agent_name`` finds runs by their agents from any process: a run records
its agent steps' names in its memo when it starts."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid

from refinire import Flow, FunctionStep, RefinireAgent, RetrySpec, get_global_registry


async def _until_found(registry, name: str, run_id: str) -> list:
    """Visibility is eventually consistent: ask again until the new run is listed (bounded)."""
    deadline = time.monotonic() + 20
    while True:
        found = await registry.asearch_by_agent_name(name, limit=50)
        if run_id in {r.trace_id for r in found}:
            return found
        assert time.monotonic() < deadline, f"run {run_id} never found by agent name {name!r}"
        await asyncio.sleep(0.1)


async def test_runs_are_found_by_agent_name_from_another_process(llm, monkeypatch):
    from refinire import registry as flows

    tag = uuid.uuid4().hex[:8]
    writer, critic = f"writer-{tag}", f"critic-{tag}"
    llm.respond = lambda req: "text"
    flow = Flow(start="write", steps={
        "write": RefinireAgent(writer, "Write", model="m"),
        "fan": {"parallel": [RefinireAgent(critic, "Critique", model="m"),
                             FunctionStep(f"count-{tag}", lambda data, ctx: len(data))]},
    }, name=f"trace-agents-{tag}", retry=RetrySpec(max_attempts=1))
    result = await flow.run("topic")

    registry = get_global_registry()
    monkeypatch.setattr(flows, "known", lambda: [])  # as a process that never loaded the flow
    found = await _until_found(registry, critic, result.run_id)
    record = next(r for r in found if r.trace_id == result.run_id)
    assert record.agent_names == [writer, critic] and record.flow_name == flow.durable_name
    assert record.status == "completed"
    assert await registry.asearch_by_agent_name(f"count-{tag}") == []  # a function step is no agent
    partial = await registry.asearch_by_agent_name(f"RITIC-{tag}", exact_match=False)
    assert result.run_id in {r.trace_id for r in partial}
    assert (await registry.aget_trace(result.run_id)).agent_names == [writer, critic]

    script = ("from refinire import get_global_registry\n"
              f"print(sorted(r.trace_id for r in get_global_registry().search_by_agent_name({writer!r})))\n")
    out = await asyncio.to_thread(subprocess.run, [sys.executable, "-c", script], capture_output=True,
                                  text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == repr([result.run_id])
