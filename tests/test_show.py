"""show(): the guide's §1.6 outputs exactly, every step kind, and runs drawn from Temporal's history
(retries, the error handler, parallel blocks, loops, another process, a run's own spec)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from refinire import (
    ClarifyAgent,
    ConditionStep,
    Flow,
    FlowExecutionError,
    FunctionStep,
    RefinireAgent,
    RouterAgent,
    Step,
    UserInputStep,
)
from refinire.rendering import render_spec
from refinire.spec import RetrySpec

ROOT = Path(__file__).resolve().parent.parent


# The guide's §1.6 examples, as written ------------------------------------------------------------
def analyze_input(ctx):
    return f"Analyzed: {ctx.result}"


def is_complex(ctx):
    return len(str(ctx.result)) > 10


def demo_flow(name: str | None = None) -> Flow:
    return Flow(start="analyze", steps={
        "analyze": FunctionStep("analyze", analyze_input, next_step="check"),
        "check": ConditionStep("check", is_complex, "complex_process", "simple_process"),
        "complex_process": FunctionStep("complex_process", lambda ctx: "Complex processing complete"),
        "simple_process": FunctionStep("simple_process", lambda ctx: "Simple processing complete")
    }, name=name)


GUIDE_TEXT = """\
Flow Diagram:
==================================================
→ analyze (FunctionStep)
  → check (ConditionStep)
    True → complex_process
    False → simple_process
    → complex_process (FunctionStep)
    → simple_process (FunctionStep)"""

GUIDE_MERMAID = """\
graph TD
    analyze["analyze<br/>(FunctionStep)"]:::start
    analyze --> check
    check["check<br/>(ConditionStep)"]:::condition
    check -->|"True"| complex_process
    check -->|"False"| simple_process
    complex_process["complex_process<br/>(FunctionStep)"]
    simple_process["simple_process<br/>(FunctionStep)"]"""


def test_guide_basic_example_prints_its_expected_output():
    flow = demo_flow()
    assert flow.show(format="text") == GUIDE_TEXT
    assert flow.show(format="mermaid") == GUIDE_MERMAID
    assert flow.show() == GUIDE_MERMAID  # mermaid is the default
    assert flow.show(format="text", include_history=True).startswith(
        GUIDE_TEXT + "\n\nExecution History:\n" + "=" * 50 + "\n(no run of this Flow object yet")


def test_guide_sequential_single_agent_and_parallel_examples():
    sequential_flow = Flow(steps=[
        FunctionStep("step1", lambda ctx: "Step 1 complete"),
        FunctionStep("step2", lambda ctx: "Step 2 complete"),
        FunctionStep("step3", lambda ctx: "Step 3 complete")
    ])
    assert sequential_flow.show(format="text") == textwrap.dedent("""\
        Flow Diagram:
        ==================================================
        → step1 (FunctionStep)
          → step2 (FunctionStep)
            → step3 (FunctionStep)""")
    assert sequential_flow.show(format="mermaid") == textwrap.dedent("""\
        graph TD
            step1["step1<br/>(FunctionStep)"]:::start
            step1 --> step2
            step2["step2<br/>(FunctionStep)"]
            step2 --> step3
            step3["step3<br/>(FunctionStep)"]""")

    single_flow = Flow(steps=RefinireAgent(
        name="assistant",
        generation_instructions="You are a helpful assistant",
        model="gpt-4o-mini"
    ))
    assert single_flow.show(format="text") == textwrap.dedent("""\
        Flow Diagram:
        ==================================================
        → assistant (RefinireAgent)""")
    assert single_flow.show(format="mermaid") == textwrap.dedent("""\
        graph TD
            assistant["assistant<br/>(RefinireAgent)"]:::start""")

    parallel_flow = Flow(start="input", steps={
        "input": FunctionStep("input", lambda ctx: ctx.result, next_step="parallel"),
        "parallel": {
            "parallel": [
                RefinireAgent(name="agent1", generation_instructions="Analyze from perspective A", model="gpt-4o-mini"),
                RefinireAgent(name="agent2", generation_instructions="Analyze from perspective B", model="gpt-4o-mini")
            ],
            "next_step": "combine",
            "max_workers": 2
        },
        "combine": FunctionStep("combine", lambda ctx: "Combined results")
    })
    assert parallel_flow.show(format="mermaid") == textwrap.dedent("""\
        graph TD
            input["input<br/>(FunctionStep)"]:::start
            input --> parallel
            subgraph parallel ["parallel<br/>(ParallelStep)"]
                parallel_agent1["agent1<br/>(RefinireAgent)"]:::agent
                parallel_agent2["agent2<br/>(RefinireAgent)"]:::agent
            end
            parallel --> combine
            combine["combine<br/>(FunctionStep)"]""")
    assert parallel_flow.show(format="text") == textwrap.dedent("""\
        Flow Diagram:
        ==================================================
        → input (FunctionStep)
          → parallel (ParallelStep)
            ∥ agent1 (RefinireAgent)
            ∥ agent2 (RefinireAgent)
            → combine (FunctionStep)""")


class Shout(Step):
    async def run_async(self, user_input, ctx):
        return ctx


def test_every_step_kind_route_end_loop_and_handler_target_are_drawn():
    f = lambda data, ctx: data  # noqa: E731
    flow = Flow({
        "pre": FunctionStep("pre", f),
        "route": RouterAgent({"name": "router", "routes": {"tech": "tech", "biz": "triage"}}),
        "tech": RefinireAgent(name="tech", generation_instructions="x"),
        "triage": ConditionStep("triage", lambda ctx: "a", {"urgent": "ask", "default": "custom"}),
        "ask": UserInputStep("ask", "question?"),
        "custom": Shout("shout"),
        "clarify": ClarifyAgent(name="clarify", generation_instructions="g", clarification_instructions="c"),
        "loop": ConditionStep("loop", lambda ctx: False, "pre"),
        "error_fallback": FunctionStep("fallback", f),
    })
    assert flow.show(format="text") == textwrap.dedent("""\
        Flow Diagram:
        ==================================================
        → pre (FunctionStep)
          → route [router] (RouterAgent)
            tech → tech
            biz → triage
            → tech (RefinireAgent)
              → clarify (ClarifyAgent)
                → loop (ConditionStep)
                  True → pre
                  False → END
                  → pre (already shown)
            → triage (ConditionStep)
              urgent → ask
              default → custom
              → ask (UserInputStep)
                → clarify (already shown)
              → custom [shout] (Shout)
                → clarify (already shown)
        → error_fallback [fallback] (FunctionStep)""")
    mermaid = flow.show()
    for line in ['route -->|"tech"| tech', 'triage -->|"urgent"| ask', 'loop -->|"True"| pre',
                 'loop -->|"False"| _FLOW_END_', '_FLOW_END_(["END"])', 'ask["ask<br/>(UserInputStep)"]:::input',
                 'custom["custom [shout]<br/>(Shout)"]', 'clarify["clarify<br/>(ClarifyAgent)"]:::agent']:
        assert f"    {line}\n" in mermaid + "\n", line
    assert "classDef" not in mermaid
    with pytest.raises(ValueError, match="Unsupported format: 'svg'"):
        flow.show(format="svg")
    with pytest.raises(ValueError, match="Unsupported format"):
        render_spec(flow.spec, "dot")


# Runs, read back from Temporal's history ---------------------------------------------------------
def flaky_once(counter: Path):
    def step(data, ctx):
        n = int(counter.read_text()) + 1 if counter.exists() else 1
        counter.write_text(str(n))
        if n == 1:
            raise ValueError("flaky the first time")
        return f"ok after {n}"
    return step


def retried_flow(name: str, counter: Path) -> Flow:
    """The guide's demo flow whose complex branch fails once and is retried."""
    return Flow(start="analyze", steps={
        "analyze": FunctionStep("analyze", analyze_input, next_step="check"),
        "check": ConditionStep("check", is_complex, "complex_process", "simple_process"),
        "complex_process": FunctionStep("complex_process", flaky_once(counter),
                                        retry=RetrySpec(max_attempts=3, initial_interval_s=0.1)),
        "simple_process": FunctionStep("simple_process", lambda ctx: "Simple processing complete"),
    }, name=name)


async def test_overlay_of_a_run_with_a_retried_step_and_a_decision(tmp_path):
    flow = retried_flow("show-retried", tmp_path / "n")
    result = await flow.run("This is a test input for the flow")
    assert str(result) == "ok after 2"
    text = flow.show(format="text", include_history=True)  # inside a running event loop
    assert text.startswith(GUIDE_TEXT + "\n\nExecution History (run show-retried-")
    rows = _rows(text)
    assert [r[1] for r in rows] == ["analyze", "check", "complex_process"]
    assert rows[0][-1] == "completed" and rows[0][-2] == "1"
    assert rows[1][-1] == "completed (in workflow)"
    assert rows[2][-2] == "2"
    assert "retried (last failure: ValueError: flaky the first time)" in text
    assert "     check → complex_process (True)" in text
    mermaid = flow.show(format="mermaid", include_history=True)
    assert mermaid.startswith("graph TD\n    %% run show-retried-")
    assert "    class analyze,check executed" in mermaid
    assert "    class complex_process retried" in mermaid
    assert 'step 3 · ' in mermaid and "2 attempts · retried" in mermaid
    assert "    linkStyle 0,1 stroke:#2e7d32,stroke-width:3px" in mermaid  # analyze→check, check→True
    assert "    classDef failed " in mermaid and "simple_process executed" not in mermaid


async def test_failed_step_that_went_to_the_error_handler(client):
    def boom(data, ctx):
        raise ValueError(f"cannot handle {data}")

    flow = Flow({
        "work": FunctionStep("work", boom, retry=1),
        "done": FunctionStep("done", lambda data, ctx: f"done: {data}"),
        "error_fallback": FunctionStep("fallback", lambda data, ctx: f"fallback for {data}"),
    }, name="show-handler")
    flow.set_error_handler(lambda err, ctx: "error_fallback" if isinstance(err, ValueError) else None)
    assert str(await flow.run("x")) == "fallback for x"
    from client.history.trace import load_trace

    trace = await load_trace(client, flow.last_run_id)
    assert trace.status == "Completed" and trace.path == ["work", "error_fallback"]
    assert trace.steps[0].status == "failed" and trace.steps[0].error == "ValueError: cannot handle x"
    assert trace.decisions[0].line() == "work → error_fallback (error: ValueError)"
    text = flow.show(format="text", include_history=True)
    assert "failed (ValueError: cannot handle x)" in text
    assert "work → error_fallback (error: ValueError)" in text
    mermaid = flow.show(include_history=True)
    assert "    class work failed" in mermaid
    assert '    work -.->|"error: ValueError"| error_fallback' in mermaid
    assert "    class error_fallback executed" in mermaid
    assert "    linkStyle 2 stroke:#c62828,stroke-width:2px" in mermaid  # the detour, after 2 edges


async def test_failed_run_without_handler_marks_the_failed_step():
    def boom(data, ctx):
        raise RuntimeError("disk on fire")

    flow = Flow({"a": FunctionStep("a", lambda d, c: d), "b": FunctionStep("b", boom, retry=1),
                 "c": FunctionStep("c", lambda d, c: d)}, name="show-failed")
    with pytest.raises(FlowExecutionError):
        await flow.run("x")
    text = flow.show(format="text", include_history=True)
    assert f"Execution History (run {flow.last_run_id}: Failed)" in text
    assert "Error: RuntimeError: disk on fire" in text
    assert _rows(text)[-1][1] == "b" and "failed (RuntimeError: disk on fire)" in text
    mermaid = flow.show(include_history=True)
    assert "    class a executed\n    class b failed\n    linkStyle 0 " in mermaid


async def test_parallel_block_overlay_and_loop_overlay(client):
    par = Flow(start="input", steps={
        "input": FunctionStep("input", lambda data, ctx: data, next_step="fan"),
        "fan": {"parallel": [FunctionStep("left", lambda d, c: "L"), FunctionStep("right", lambda d, c: "R")],
                "next_step": "combine", "max_workers": 2},
        "combine": FunctionStep("combine", lambda data, ctx: f"{data['left']}{data['right']}"),
    }, name="show-parallel")
    assert str(await par.run("go")) == "LR"
    text = par.show(format="text", include_history=True)
    assert [r[1] for r in _rows(text)] == ["input", "fan", "∥", "∥", "combine"]
    assert "  ∥ left (FunctionStep)" in text and "  ∥ right (FunctionStep)" in text
    mermaid = par.show(include_history=True)
    assert "    class input,fan,fan_left,fan_right,combine executed" in mermaid
    assert "    linkStyle 0,1 " in mermaid

    loop = Flow({
        "inc": FunctionStep("inc", lambda data, ctx: data + 1),
        "again": ConditionStep("again", lambda ctx: ctx.result < 3, "inc", "done"),
        "done": FunctionStep("done", lambda data, ctx: f"n={data}"),
    }, name="show-loop")
    assert str(await loop.run(0)) == "n=3"
    from client.history.trace import load_trace

    trace = await load_trace(client, loop.last_run_id)
    assert trace.path == ["inc", "again"] * 3 + ["done"]
    assert [d.line() for d in trace.decisions] == ["again → inc (True)"] * 2 + ["again → done (False)"]
    assert loop.show(format="text").endswith("    → inc (already shown)\n    → done (FunctionStep)")
    mermaid = loop.show(include_history=True)
    assert "steps 1, 3, 5" in mermaid and "steps 2, 4, 6" in mermaid and "step 7 · " in mermaid
    assert "    linkStyle 0,1,2 " in mermaid  # inc→again, again→inc (True), again→done (False)


async def test_agent_scores_tokens_and_router_decision(llm, client):
    llm.script("tech", "draft one", {"score": 40, "feedback": "more"}, "draft two", {"score": 90, "feedback": "ok"})
    fast = RetrySpec(max_attempts=3, initial_interval_s=0.1)
    flow = Flow({
        "route": RouterAgent({"name": "router", "routes": {"tech": "poet", "other": "plain"}, "model": "m-test"}),
        "poet": RefinireAgent("poet", "Write", "Score it", model="m-test", threshold=80, max_retries=2),
        "plain": FunctionStep("plain", lambda data, ctx: data),
    }, name="show-agents", retry=fast)
    result = await flow.run("topic")
    assert str(result) == "draft two"
    from client.history.trace import load_trace

    trace = await load_trace(client, flow.last_run_id)
    route, poet = trace.steps
    assert route.decision.line() == "route → poet (tech)" and route.display == "RouterAgent"
    assert poet.scores == [40, 90] and len(poet.activities) == 4
    sent = [r.usage["total_tokens"] for r in llm.requests]  # what the server reported, call by call
    assert [u["total_tokens"] for u in result.usage] == sent
    assert poet.usage["total_tokens"] == sum(sent[1:])  # the router's call first, then the poet's four
    assert route.usage["total_tokens"] == sum(u["total_tokens"] for u in result.usage if u["step"] == "router")
    text = flow.show(format="text", include_history=True)
    assert "route [router] → poet (tech)" not in text and "route → poet (tech)" in text
    assert f"scores 40 → 90 · tokens {poet.usage['total_tokens']} (prompt " in text and "4 activities" in text
    assert "score 90" in flow.show(include_history=True)


async def test_same_history_without_step_marks_gives_the_same_steps(client):
    """Servers without our search attributes record no FlowStep marks: visits come from activity
    ids and decision memos alone, with the same result."""
    from temporalio.api.enums.v1 import EventType

    from client.history.reader import read_events
    from client.history.trace import load_trace, trace_of

    flow = Flow({
        "inc": FunctionStep("inc", lambda data, ctx: data + 1),
        "again": ConditionStep("again", lambda ctx: ctx.result < 2, "inc", "done"),
        "done": FunctionStep("done", lambda data, ctx: data),
    }, name="show-nomarks")
    await flow.run(0)
    events = list((await client.get_workflow_handle(flow.last_run_id).fetch_history()).events)
    kinds = {e.event_type for e in events}
    assert EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED in kinds  # decisions are memo upserts
    stripped = [e for e in events if e.event_type != EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES]
    full = await load_trace(client, flow.last_run_id)
    bare = trace_of(await read_events(client.data_converter, flow.last_run_id, [stripped]))
    assert bare.path == full.path == ["inc", "again", "inc", "again", "done"]
    assert [s.decision for s in bare.steps] == [s.decision for s in full.steps]


async def test_a_run_is_shown_by_another_process_with_the_graph_it_started_with(tmp_path):
    flow = retried_flow("show-xproc", tmp_path / "n")
    await flow.run("long enough input")
    here = flow.show(format="text", include_history=True)
    # The other process's code has changed since: other steps, another start. The run is drawn
    # with its own spec, from the history alone.
    script = textwrap.dedent(f"""
        from refinire import Flow, FunctionStep
        changed = Flow({{"renamed": FunctionStep("renamed", lambda ctx: 1)}}, name="show-xproc")
        print(changed.show(format="text", run_id={flow.last_run_id!r}))
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.rstrip("\n") == here
    assert "renamed" not in out.stdout
    assert "retried (last failure: ValueError: flaky the first time)" in out.stdout
    assert "check → complex_process (True)" in out.stdout


def _rows(text: str) -> list[list[str]]:
    """The history table's rows as [index, step key ("∥" for a branch), start, duration, attempts,
    status], cut at the header's column positions."""
    body = text.split("Execution History", 1)[1].splitlines()
    at = next(i for i, line in enumerate(body) if line.startswith("#  step"))
    head = body[at]
    cols = [0, *(head.index(h) for h in ("step", "start (UTC)", "duration", "attempts", "status"))]
    rows = []
    for line in body[at + 1:]:
        cells = [line[a:b].strip() for a, b in zip(cols, [*cols[1:], None])]
        if cells[0].isdigit() or cells[1].startswith("∥"):
            cells[1] = cells[1].split(" ")[0]
            rows.append(cells)
    return rows


@pytest.mark.parametrize("version", ["0.1.0", "0.2.0", "0.3.0", "0.4.0", "0.5.0"])
async def test_a_user_input_step_is_a_visit_in_every_recorded_version(version):
    """A UserInputStep runs no activity: its accepted answer marks the visit, in runs recorded by
    every version (the replay corpus), so `show` lists it before the step it feeds."""
    import json
    from pathlib import Path

    from temporalio.client import WorkflowHistory

    from client.connection.codec import data_converter
    from client.history.reader import read_events
    from client.history.trace import trace_of

    path = Path(__file__).parent / "histories" / version / "user_input.json"
    history = WorkflowHistory.from_json("user-input", json.loads(path.read_text()))
    trace = trace_of(await read_events(data_converter(), "user-input", [list(history.events)]))
    assert [s.key for s in trace.steps] == ["name", "greet"]
