"""RouterAgent (llm and rule) and ClarifyAgent / UserInputStep, including runs that wait for a person."""

from __future__ import annotations

import pytest

from refinire import (
    ClarifyAgent,
    ConditionStep,
    Flow,
    FlowExecutionError,
    FunctionStep,
    RetrySpec,
    RouterAgent,
    UserInputStep,
)

FAST = RetrySpec(max_attempts=3, initial_interval_s=0.2, max_interval_s=1.0)


def routed_flow(config: dict) -> Flow:
    return Flow({
        "route": RouterAgent(config),
        "tech": FunctionStep("tech", lambda data, ctx: f"tech:{data}"),
        "biz": FunctionStep("biz", lambda data, ctx: f"biz:{data}"),
        "general": FunctionStep("general", lambda data, ctx: f"general:{data}"),
    }, retry=FAST)


async def test_llm_router_exact_case_substring_and_fallback(llm, client):
    replies = {"q1": "technical", "q2": "BUSINESS", "q3": "I would say this is business related.",
               "q4": "no idea"}
    llm.respond = lambda req: replies[req.user]
    flow = routed_flow({"name": "router", "routes": {"technical": "tech", "business": "biz",
                                                     "general": "general"},
                        "classifier_type": "llm", "generation_instructions": "Classify it",
                        "default_route": "general", "model": "m-test"})
    seen = []
    for q in replies:
        r = await flow.run(q)
        seen.append((str(r), r.routing_result["matched_by"], r.shared_state["router_classification"],
                     r.shared_state["router_next_step"]))
    assert seen == [("tech:q1", "exact", "technical", "tech"),
                    ("biz:q2", "case-insensitive", "business", "biz"),
                    ("biz:q3", "substring", "business", "biz"),
                    ("general:q4", "default", "general", "general")]
    req = llm.requests[0]
    assert "Classify it" in req.system and "technical, business, general" in req.system
    assert req.activity == "route#1.route"
    handle = client.get_workflow_handle(r.run_id)
    assert (await (await handle.describe()).memo())["decision:route"] == {"value": "general", "to": "general"}
    await replays(await handle.fetch_history())
    assert [u["kind"] for u in r.usage] == ["route"]


async def test_llm_router_without_default_falls_back_to_the_first_route(llm):
    llm.respond = lambda req: "something else"
    flow = routed_flow({"name": "r2", "routes": {"business": "biz", "technical": "tech",
                                                 "general": "general"}, "model": "m"})
    assert str(await flow.run("x")) == "biz:x"


async def test_rule_router_runs_user_rules_in_an_activity(llm):
    flow = routed_flow({"name": "rules", "classifier_type": "rule",
                        "routes": {"even": "tech", "odd": "biz", "other": "general"},
                        "classification_rules": {"even": lambda d, c: int(d) % 2 == 0,
                                                 "odd": lambda d, c: int(d) % 2 == 1}})
    assert str(await flow.run(4)) == "tech:4"
    r = await flow.run(7)
    assert str(r) == "biz:7" and r.shared_state["rules_classification"] == "odd"
    assert llm.requests == []


def clarify_flow(agent: ClarifyAgent) -> Flow:
    return Flow({
        "clarify": agent,
        "check": ConditionStep("check", lambda ctx: ctx.clarification_result["is_clear"], "go", "ask"),
        "go": FunctionStep("go", lambda data, ctx: f"go:{data}"),
        "ask": FunctionStep("ask", lambda data, ctx: f"ask:{ctx.clarification_result['clarification_question']}"),
    }, retry=FAST)


async def test_clarify_clear_and_unclear(llm):
    llm.script({"score": 92, "clarification_question": "", "reason": "complete"},
               {"score": 20, "clarification_question": "What should it do?", "reason": "vague"})
    flow = clarify_flow(ClarifyAgent("clar", "Ask", "Is it clear?", threshold=80, model="m"))
    clear = await flow.run("Build a CRM with search")
    assert str(clear) == "go:Build a CRM with search"
    assert clear.clarification_result["is_clear"] is True and clear.clarification_result["score"] == 92
    vague = await flow.run("Make something")
    assert str(vague) == "ask:What should it do?"
    assert vague.clarification_result["is_clear"] is False
    assert llm.requests[0].schema == "Clarity" and "Is it clear?" in llm.requests[0].system


async def test_clarify_waits_for_an_answer_and_rejects_bad_ones(llm, client):
    from client.running.handle import AnswerRejected
    from client.serving.worker import build_worker

    llm.script({"score": 30, "clarification_question": "Which language?", "reason": "vague"},
               {"score": 90, "clarification_question": "", "reason": "ok"})
    flow = clarify_flow(ClarifyAgent("clar", "Ask", "Clear?", model="m", wait_for_answer=True))
    handle = await flow.start_run("Write a program")
    async with build_worker(client, flow, sticky_timeout_s=1):
        q = await handle.wait_for_question(timeout=30)
        assert (q.step, q.name, q.question, q.kind) == ("clarify", "clar", "Which language?", "clarify")
        with pytest.raises(AnswerRejected, match="empty answer"):
            await handle.answer("   ")
        with pytest.raises(AnswerRejected, match="'go' is not waiting"):
            await handle.answer("Python", step="go")
        accepted = await handle.answer("Python", step="clarify")
        assert accepted.question == "Which language?"
        result = await handle.result()
        with pytest.raises(AnswerRejected, match="not waiting|cannot take"):
            await handle.answer("late")
        assert await handle.pending_question() is None
    assert str(result) == "go:Write a program"
    cr = result.clarification_result
    assert cr["is_clear"] is True and cr["turns"] == 2
    assert cr["answers"] == [{"question": "Which language?", "answer": "Python"}]
    assert "Answer: Python" in llm.requests[1].user
    assert [r.activity for r in llm.requests] == ["clarify#1.clarify1", "clarify#1.clarify2"]
    await replays(await handle.fetch_history())


async def replays(history) -> None:
    """The recorded history (updates, rejections, timers, activities) replays against this code."""
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.worker import Replayer

    from client.serving.worker import SANDBOX_RUNNER
    from workflows.refinire_flow import WORKFLOWS

    replayer = Replayer(workflows=WORKFLOWS, workflow_runner=SANDBOX_RUNNER,
                        data_converter=pydantic_data_converter)
    await replayer.replay_workflow(history)


async def test_clarify_wait_times_out_and_the_flow_goes_on_unclear(llm):
    llm.script({"score": 10, "clarification_question": "What exactly?", "reason": "vague"})
    flow = clarify_flow(ClarifyAgent("clar", "Ask", "Clear?", model="m", wait_for_answer=True,
                                     answer_timeout=1))
    result = await flow.run("Do it")
    assert str(result) == "ask:What exactly?"
    assert result.clarification_result["timed_out"] is True
    assert result.clarification_result["is_clear"] is False


async def test_user_input_step_with_run_loop_and_feed():
    flow = Flow({
        "name": UserInputStep("name", "What is your name?"),
        "greet": FunctionStep("greet", lambda data, ctx: f"Hello {data}"),
    })
    assert flow.next_prompt() is None
    flow.feed("Ada")
    result = await flow.run_loop()
    assert str(result) == "Hello Ada"
    assert result.last_user_input == "Ada"
