"""The README's demo, as a user runs it: a separate process that must exit 0 every time."""

from __future__ import annotations

import re
import subprocess
import sys

import procs


def test_demo_prints_results_and_ui_links():
    env = procs.env(TEMPORAL_UI_URL="http://ui.example:8233")
    env.pop("OPENAI_API_KEY", None)
    env.pop("OPENAI_BASE_URL", None)
    out = subprocess.run([sys.executable, "-m", "examples.demo"], cwd=procs.ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    results = [line for line in lines if "result:" in line or line.startswith("  Result:")]
    assert results == [
        "  25-year-old result: You can access adult services",
        "  15-year-old result: Please use services for minors",
        "  Result: {'combined_result': 'Multiple analyses completed', "
        "'execution_time': 'About 1 second (parallel execution)'}",
    ]
    runs = [re.fullmatch(r"    run (examples\.guide_basics:(\w+)-[0-9a-f]{12})  →  "
                         r"http://ui\.example:8233/namespaces/default/workflows/\1", line)
            for line in lines if line.startswith("    run ")]
    assert all(runs) and [m.group(2) for m in runs] == ["condition_flow", "condition_flow", "parallel_flow"]
    assert len({m.group(1) for m in runs}) == 3  # every run is its own
    assert lines[-1] == ("Agent flows are off: set OPENAI_API_KEY (or OPENAI_BASE_URL for any "
                         "OpenAI-compatible server, e.g. a local vLLM or Ollama) and run the demo again.")


def test_demo_runs_an_agent_flow_when_a_model_endpoint_is_set(llm):
    llm.respond = lambda request: "Python is readable, batteries included."
    env = procs.env()
    out = subprocess.run([sys.executable, "-m", "examples.demo"], cwd=procs.ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "§2.1 Agent flow (model from OPENAI_BASE_URL / OPENAI_API_KEY)" in lines
    answer = lines.index("  Answer: Python is readable, batteries included.")
    assert re.fullmatch(r"    run examples\.guide_agents:agent_flow-[0-9a-f]{12}  →  \(set TEMPORAL_UI_URL "
                        r"for a link\)", lines[answer + 1]), lines[answer + 1]
    assert [r.step for r in llm.requests] == ["assistant"]  # one generation, named by the agent
