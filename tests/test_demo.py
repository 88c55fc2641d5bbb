"""The README's demo, as a user runs it: a separate process that must exit 0 every time."""

from __future__ import annotations

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
    assert "25-year-old result: You can access adult services" in out.stdout
    assert "15-year-old result: Please use services for minors" in out.stdout
    assert "Result: {'combined_result': 'Multiple analyses completed'" in out.stdout
    assert "http://ui.example:8233/namespaces/default/workflows/examples.guide_basics:condition_flow-" in out.stdout
    assert "set OPENAI_API_KEY" in out.stdout


def test_demo_runs_an_agent_flow_when_a_model_endpoint_is_set(llm):
    llm.respond = lambda request: "Python is readable, batteries included."
    env = procs.env()
    out = subprocess.run([sys.executable, "-m", "examples.demo"], cwd=procs.ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "§2.1 Agent flow" in out.stdout
    assert "Answer: Python is readable, batteries included." in out.stdout
    assert [r.step for r in llm.requests] == ["assistant"]  # one generation, named by the agent
