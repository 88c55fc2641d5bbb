"""The guide's agent examples straight from the guide's text (imports added, nothing else), against
the local OpenAI-compatible server. ``examples/guide_agents.py`` is the runnable copy; this proves
the guide itself."""

from __future__ import annotations

import pytest

from guide.runner import run_section, run_section_in_thread
from refinire.observability import disable_console_tracing
from test_agents_guide import brain


@pytest.fixture
def model(llm):
    llm.respond = brain
    yield llm
    disable_console_tracing()


def test_1_2_two_agents_in_sequence(model, capsys):
    run_section_in_thread("1.2")
    assert capsys.readouterr().out == "Final result: [analyzer] on [greeter] on Alice\n"
    assert [r.step for r in model.requests] == ["greeter", "analyzer"]


def test_1_3_three_agents_deepen_the_content(model, capsys):
    run_section_in_thread("1.3")
    assert capsys.readouterr().out == (
        "Final encouraging message: [encourager] on [recommender] on [analyzer] on Sakura\n")


async def test_2_1_2_3_2_4_as_written(model, capsys):
    ns = await run_section("2.1")
    await ns["run_agent_example"]()
    assert capsys.readouterr().out == "Answer: [assistant] on Question: What are the features of Python?\n"
    result = await ns["quality_flow"].run("Explain Python decorators")
    assert str(result).startswith("High quality response (Score: 90.0)")
    ns = await run_section("2.3", ns)
    await ns["run_router_example"]()
    assert "Technical question result: Expert response: [tech_specialist]" in capsys.readouterr().out
    ns = await run_section("2.4", ns)
    await ns["run_clarify_example"]()
    out = capsys.readouterr().out
    assert "Vague request result: Please provide more details: What would you like me to create?" in out
    assert "Clear request result: Request is clear. Starting processing: Create a customer" in out


async def test_3_2_dynamic_flow_as_written(model, capsys):
    ns = await run_section("3.2")
    await ns["run_dynamic_flow_example"]()
    out = capsys.readouterr().out
    assert out.startswith(
        "Dynamic Flow result: [synthesizer] on {'agent_0': '[parallel_analysis/agent_0] on Analyze")
    steps = {r.step for r in model.requests}
    assert steps == {f"parallel_analysis/agent_{i}" for i in range(4)} | {"synthesizer"}


async def test_3_3_monitoring_and_3_4_ab_testing_as_written(model, capsys):
    ns = await run_section("3.3")
    await ns["run_production_example"]()
    out = capsys.readouterr().out
    assert "Execution 1: Success - [Production Response] [production_agent] on Normal..." in out
    assert "Total Executions: 4" in out
    ns = await run_section("3.4", ns)
    await ns["run_ab_test_example"]()
    out = capsys.readouterr().out
    assert out.count("Query ") == 5 and "=== A/B Test Results ===" in out
    assert "Error" not in out
