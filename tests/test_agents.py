"""RefinireAgent as a durable step: the evaluate/regenerate loop, errors, usage, branches, run_async
(in-process; tests/compat/test_agents_inprocess.py has the rest).

Every model call goes through the real ``openai`` client to the scripted server in openai_server.py.
"""

from __future__ import annotations

import pytest

from refinire import Context, Flow, FlowExecutionError, FunctionStep, RefinireAgent, RetrySpec

FAST = RetrySpec(max_attempts=3, initial_interval_s=0.2, max_interval_s=1.0)


def evaluated(name: str, max_retries: int = 2) -> RefinireAgent:
    return RefinireAgent(name, "Write a haiku", "Score the haiku", model="m-test", threshold=80,
                         max_retries=max_retries)


async def test_score_below_then_above_threshold_regenerates_with_feedback(llm, client):
    llm.script("draft one", {"score": 40, "feedback": "add a season word"},
               "draft two", {"score": 90, "feedback": "good"})
    flow = Flow(steps=evaluated("poet"), retry=FAST)
    result = await flow.run("autumn")
    assert str(result) == "draft two"
    assert result.evaluation_result["score"] == 90
    assert result.evaluation_result["passed"] is True
    assert result.evaluation_result["attempts"] == 2
    assert [r.activity for r in llm.requests] == ["poet#1.gen1", "poet#1.eval1", "poet#1.gen2", "poet#1.eval2"]
    regen = llm.requests[2]
    assert "add a season word" in regen.user and "40/100" in regen.user
    assert {"role": "assistant", "content": "draft one"} in regen.messages
    assert llm.requests[1].schema == "Evaluation"
    assert llm.requests[1].body["response_format"]["json_schema"]["strict"] is True
    assert llm.requests[0].system == "Write a haiku" and llm.requests[0].user == "autumn"
    kinds = [(u["kind"], u["attempt"]) for u in result.usage]
    assert kinds == [("generate", 1), ("evaluate", 1), ("generate", 2), ("evaluate", 2)]
    assert all(u["step"] == "poet" and u["model"] == "m-test" for u in result.usage)
    tokens = ("prompt_tokens", "completion_tokens", "total_tokens")
    assert [[u[k] for k in tokens] for u in result.usage] == [[r.usage[k] for k in tokens] for r in llm.requests]
    assert result.usage[0]["prompt_tokens"] == 4  # "Write a haiku" + "autumn", as the server counts words
    assert result.total_usage["total_tokens"] == sum(u["total_tokens"] for u in result.usage)
    from test_agents_route_clarify import replays

    await replays(await client.get_workflow_handle(result.run_id).fetch_history())


async def test_max_retries_exhausted_keeps_the_best_generation(llm):
    llm.script("first", {"score": 50, "feedback": "f1"}, "second", {"score": 70, "feedback": "f2"},
               "third", {"score": 60, "feedback": "f3"})
    flow = Flow(steps=evaluated("critic", max_retries=2), retry=FAST)
    result = await flow.run("topic")
    assert str(result) == "second"
    ev = result.evaluation_result
    assert (ev["score"], ev["passed"], ev["attempt"], ev["attempts"]) == (70, False, 2, 3)
    assert [h["score"] for h in ev["history"]] == [50, 70, 60]
    assert len(llm.requests) == 6


async def test_agent_without_evaluation_in_a_flow_gets_str_of_data(llm):
    llm.respond = lambda req: f"echo:{req.user}"
    flow = Flow({
        "pre": FunctionStep("pre", lambda data, ctx: {"n": data}),
        "agent": RefinireAgent("writer", "Be brief", model="m-test"),
        "post": FunctionStep("post", lambda data, ctx: f"<{data}>"),
    }, retry=FAST)
    result = await flow.run(3)
    assert str(result) == "<echo:{'n': 3}>"
    assert result.evaluation_result is None
    assert [r.activity for r in llm.requests] == ["agent#2.gen1"]


async def test_rate_limit_with_retry_after_then_success(llm):
    from openai_server import error

    llm.script(error(429, "slow down", retry_after=1), "made it")
    flow = Flow(steps=RefinireAgent("patient", "Answer", model="m-test"), retry=FAST)
    result = await flow.run("q")
    assert str(result) == "made it"
    assert [r.activity for r in llm.requests] == ["patient#1.gen1", "patient#1.gen1"]
    assert result.usage[0]["activity_attempt"] == 2


async def test_unauthorized_fails_at_once_naming_the_step(llm):
    from openai_server import error

    llm.script(error(401, "bad key"), "never sent")
    flow = Flow(steps=RefinireAgent("locked", "Answer", model="m-test"), retry=FAST)
    with pytest.raises(FlowExecutionError) as info:
        await flow.run("q")
    assert len(llm.requests) == 1
    assert info.value.cause_type == "AuthenticationError"
    assert "HTTP 401" in str(info.value) and "OPENAI_API_KEY" in str(info.value) and "locked" in str(info.value)


async def test_missing_key_fails_with_the_variable_to_set(llm, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.delenv("OPENAI_BASE_URL")
    agent = RefinireAgent("keyless", "Answer", model="m-test")  # building needs no key
    flow = Flow(steps=agent, retry=FAST)
    with pytest.raises(FlowExecutionError) as info:
        await flow.run("q")
    assert info.value.cause_type == "MissingAPIKey"
    assert "set OPENAI_API_KEY" in info.value.cause_message
    assert llm.requests == []


async def test_agents_as_parallel_branches(llm):
    llm.respond = lambda req: f"{req.step} says {req.user}"
    flow = Flow(start="fan", steps={
        "fan": {"parallel": [RefinireAgent("a1", "One", model="m"), RefinireAgent("a2", "Two", model="m")],
                "next_step": "join"},
        "join": FunctionStep("join", lambda data, ctx: sorted(data.items())),
    }, retry=FAST)
    result = await flow.run("hi")
    assert result.value == [["a1", "fan/a1 says hi"], ["a2", "fan/a2 says hi"]] or result.value == [
        ("a1", "fan/a1 says hi"), ("a2", "fan/a2 says hi")]
    assert sorted(r.activity for r in llm.requests) == ["fan/a1#1.gen1", "fan/a2#1.gen1"]
    assert sorted(u["step"] for u in result.usage) == ["fan/a1", "fan/a2"]


async def test_run_async_on_its_own_runs_in_process(llm):
    llm.script("alone", {"score": 95, "feedback": "fine"})
    agent = RefinireAgent("solo", "Answer", "Judge", model="m-test", next_step="elsewhere")
    ctx = Context()
    out = await agent.run_async("question", ctx)
    assert out is ctx
    assert ctx.result == "alone" and ctx.evaluation_result["score"] == 95
    assert ctx.next_label == "elsewhere"
    assert [u["kind"] for u in ctx.usage] == ["generate", "evaluate"]


async def test_the_key_never_appears_in_the_history(llm, client):
    import base64
    import re

    flow = Flow(steps=RefinireAgent("secretive", "Answer", model="m-test"), retry=FAST)
    result = await flow.run("q")
    history = await client.get_workflow_handle(result.run_id).fetch_history()
    raw = history.to_json()
    text = raw + "".join(base64.b64decode(b).decode("utf-8", "replace")
                         for b in re.findall(r'"data": ?"([A-Za-z0-9+/=]+)"', raw))
    assert "secretive#1.gen1" in text
    assert "sk-test-not-a-secret" not in text and "sk-test" not in text


async def test_router_run_async_on_its_own_routes_with_goto(llm):
    from refinire import RouterAgent

    llm.respond = lambda req: "billing"
    router = RouterAgent({"name": "desk", "routes": {"billing": "pay_step", "tech": "fix_step"}, "model": "m"})
    ctx = await router.run_async("my invoice is wrong", Context())
    assert ctx.result == "my invoice is wrong"
    assert ctx.next_label == "pay_step" and ctx.shared_state["desk_next_step"] == "pay_step"
    assert ctx.shared_state["desk_classification"] == "billing"
