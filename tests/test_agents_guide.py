"""The guide's agent examples, run as written (examples/guide_agents.py) against the test server."""

from __future__ import annotations

import pytest

from examples import guide_agents as guide
from refinire.observability import disable_console_tracing

disable_console_tracing()  # §3.3 enables it at import; keep this session's output quiet


def brain(req):
    """A stand-in model: evaluates, judges clarity, classifies, and otherwise answers as the step."""
    if req.schema == "Evaluation":
        return {"score": 90, "feedback": "clear and complete"}
    if req.schema == "Clarity":
        if "something nice" in req.user:
            return {"score": 20, "clarification_question": "What would you like me to create?",
                    "reason": "no subject"}
        return {"score": 95, "clarification_question": "", "reason": "specific"}
    if "Classify into one of the following categories" in req.system:
        return "technical" if "multithreading" in req.user else "Category: business"
    return f"[{req.step}] on {req.user}"


@pytest.fixture
def model(llm):
    llm.respond = brain
    return llm


async def test_2_1_agent_between_function_steps(model, capsys):
    await guide.run_agent_example()
    assert capsys.readouterr().out == "Answer: [assistant] on Question: What are the features of Python?\n"
    assert model.requests[0].system == "Answer user questions helpfully"


async def test_2_1_quality_flow_branches_on_the_evaluation_score(model):
    result = await guide.quality_flow.run("Explain Python decorators")
    assert str(result) == ("High quality response (Score: 90.0)\n"
                           "Response: [quality_assistant] on Explain Python decorators")
    assert result.evaluation_result["passed"] is True


async def test_2_3_router_picks_the_specialist(model, capsys):
    await guide.run_router_example()
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "Technical question result: Expert response: [tech_specialist] on Tell me about multithreading in Python",
        "Business question result: Expert response: [business_specialist] on How to start a new business",
    ]
    assert guide.router_flow.last_result.shared_state["content_router_classification"] == "business"


async def test_2_4_clarify_asks_for_details_only_when_vague(model, capsys):
    await guide.run_clarify_example()
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "Vague request result: Please provide more details: What would you like me to create?",
        "Clear request result: Request is clear. Starting processing: Create a customer management "
        "system in Python with registration, search, update, and delete functionality",
    ]


async def test_1_2_sequential_agents(model, capsys):
    await guide.run_simple_example()
    assert capsys.readouterr().out == "Final result: [analyzer] on [greeter] on Alice\n"


async def test_3_2_parallel_agents_then_synthesizer(model, capsys):
    await guide.run_dynamic_flow_example()
    out = capsys.readouterr().out
    assert out.startswith("Dynamic Flow result: [synthesizer] on {'agent_0': '[parallel_analysis/agent_0] on "
                          "Analyze a new web application development project', 'agent_1': ")
    steps = sorted({r.step for r in model.requests})
    assert steps == ["parallel_analysis/agent_0", "parallel_analysis/agent_1", "parallel_analysis/agent_2",
                     "parallel_analysis/agent_3", "synthesizer"]


async def test_3_3_monitored_production_flow(model, capsys):
    await guide.run_production_example()
    out = capsys.readouterr().out
    assert "Execution 1: Success - [Production Response] [production_agent] on Normal...\n" in out
    assert "Execution 3: Success - [Production Response] [production_agent] on ...\n" in out
    assert "Status: healthy" in out and "Total Executions: 4" in out


async def test_3_4_ab_test_reads_the_evaluation_score_from_the_callers_context(model, capsys):
    await guide.run_ab_test_example()
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("Query ")]
    assert len(lines) == 5 and all("): Success (Score: " in line for line in lines), out
    assert all(line.endswith("(Score: 90.0)") for line in lines if "(experimental)" in line), out
    assert "=== A/B Test Results ===" in out
