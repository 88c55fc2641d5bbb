"""``await agent.run_async(input, ctx)`` without a server, Refinire's unit-test style, for
RefinireAgent, RouterAgent and ClarifyAgent: the same model calls (through the real ``openai``
client to the scripted server) and the same context as the agent leaves inside a durable Flow.

The ``no_server`` fixture points Temporal at a closed port and makes connecting fail loudly, so
any test that still needed a server would fail.
"""

from __future__ import annotations

import pytest

from refinire import (
    ClarifyAgent,
    Context,
    Flow,
    FunctionStep,
    ParallelStep,
    RefinireAgent,
    RetrySpec,
    RouterAgent,
)

FAST = RetrySpec(max_attempts=3, initial_interval_s=0.01, max_interval_s=0.05)


@pytest.fixture
def no_server(monkeypatch):
    import client.connection.connect
    import client.running.handle
    import client.running.start

    async def refuse(*args, **kwargs):
        raise AssertionError("run_async on its own must not connect to Temporal")

    monkeypatch.setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
    monkeypatch.setattr(client.connection.connect, "connect", refuse)
    monkeypatch.setattr(client.running.start, "connect", refuse)
    monkeypatch.setattr(client.running.handle, "connect", refuse)


def evaluated(name: str = "poet", **kw) -> RefinireAgent:
    return RefinireAgent(name, "Write a haiku", "Score the haiku", model="m-test", threshold=80,
                         max_retries=2, **kw)


def facts(ctx: Context) -> dict:
    """What an agent leaves in the context, comparable between a durable run and run_async."""
    return {
        "result": ctx.result, "evaluation_result": ctx.evaluation_result,
        "routing_result": ctx.routing_result, "clarification_result": ctx.clarification_result,
        "shared_state": ctx.shared_state, "usage": ctx.usage,
        "messages": [(m.role, m.content, m.metadata) for m in ctx.messages],
    }


def calls(llm) -> list[tuple[str, str, dict]]:
    """Every model request: activity id, step, and the request body the openai client sent."""
    return [(r.activity, r.step, r.body) for r in llm.requests]


# RefinireAgent -------------------------------------------------------------------------------
async def test_agent_generates_evaluates_and_regenerates_in_process(llm, no_server):
    llm.script("draft one", {"score": 40, "feedback": "add a season word"},
               "draft two", {"score": 90, "feedback": "good"})
    ctx = Context()
    out = await evaluated(next_step="publish").run_async("autumn", ctx)
    assert out is ctx
    assert ctx.result == "draft two" and ctx.content == "draft two"
    ev = ctx.evaluation_result
    assert (ev["score"], ev["passed"], ev["attempt"], ev["attempts"]) == (90, True, 2, 2)
    assert [r.activity for r in llm.requests] == ["poet#1.gen1", "poet#1.eval1", "poet#1.gen2", "poet#1.eval2"]
    regen = llm.requests[2]
    assert "add a season word" in regen.user and {"role": "assistant", "content": "draft one"} in regen.messages
    assert llm.requests[1].schema == "Evaluation"
    assert [(u["kind"], u["attempt"]) for u in ctx.usage] == [
        ("generate", 1), ("evaluate", 1), ("generate", 2), ("evaluate", 2)]
    assert ctx.messages[-1].role == "assistant" and ctx.messages[-1].content == "draft two"
    assert ctx.next_label == "publish" and not ctx.is_finished()
    assert ctx.current_step == "poet" and ctx.step_count == 1
    assert [s["step_name"] for s in ctx.span_history] == ["poet"]


async def test_agent_without_a_context_makes_one_and_finishes(llm, no_server):
    llm.respond = lambda req: f"echo:{req.user}"
    ctx = await RefinireAgent("writer", "Be brief", model="m-test").run_async("hi")
    assert ctx.result == "echo:hi" and ctx.is_finished()
    assert [(m.role, m.content) for m in ctx.messages] == [("user", "hi"), ("assistant", "echo:hi")]
    assert ctx.evaluation_result is None


def test_one_agent_under_several_event_loops(llm, no_server):
    """A script (or a test suite) may ``asyncio.run`` agents more than once in one process."""
    import asyncio

    llm.respond = lambda req: f"echo:{req.user}"
    agent = RefinireAgent("writer", "Be brief", model="m-test")
    assert asyncio.run(agent.run_async("one")).result == "echo:one"
    assert asyncio.run(agent.run_async("two")).result == "echo:two"


async def test_agent_without_input_reads_the_last_user_input(llm, no_server):
    llm.respond = lambda req: f"echo:{req.user}"
    ctx = Context()
    ctx.add_user_message("from the user")
    await RefinireAgent("writer", "Be brief", model="m-test").run_async(None, ctx)
    assert ctx.result == "echo:from the user"


async def test_rate_limit_is_retried_after_retry_after(llm, no_server):
    from openai_server import error

    llm.script(error(429, "slow down", retry_after=0.05), "made it")
    ctx = await RefinireAgent("patient", "Answer", model="m-test", retry=FAST).run_async("q", Context())
    assert ctx.result == "made it"
    assert [r.activity for r in llm.requests] == ["patient#1.gen1", "patient#1.gen1"]
    assert ctx.usage[0]["activity_attempt"] == 2


async def test_the_steps_retry_policy_bounds_the_attempts_then_refinire_records_the_error(llm, no_server):
    from openai_server import error

    llm.script(error(500, "down"), error(500, "down"), "never sent")
    agent = RefinireAgent("flaky", "Answer", model="m-test", next_step="after",
                          retry=RetrySpec(max_attempts=2, initial_interval_s=0.01))
    ctx = await agent.run_async("q", Context())
    assert len(llm.requests) == 2
    assert ctx.result is None and not ctx.success
    assert ctx.messages[-1].role == "system"
    assert ctx.messages[-1].content.startswith("RefinireAgent flaky execution error: OpenAI API returned HTTP 500")
    assert ctx.error["step"] == "flaky" and ctx.error["type"] == "InternalServerError"
    assert ctx.next_label == "after"


async def test_unauthorized_is_not_retried(llm, no_server):
    from openai_server import error

    llm.script(error(401, "bad key"), "never sent")
    ctx = await RefinireAgent("locked", "Answer", model="m-test").run_async("q", Context())
    assert len(llm.requests) == 1
    assert ctx.error["type"] == "AuthenticationError" and "OPENAI_API_KEY" in ctx.error["message"]
    assert ctx.result is None and ctx.is_finished()


async def test_missing_key_names_the_variable_to_set(llm, no_server, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.delenv("OPENAI_BASE_URL")
    ctx = await RefinireAgent("keyless", "Answer", model="m-test").run_async("q", Context())
    assert ctx.error["type"] == "MissingAPIKey" and "set OPENAI_API_KEY" in ctx.error["message"]
    assert llm.requests == []


async def test_agents_as_in_process_parallel_branches(llm, no_server):
    llm.respond = lambda req: f"{req.step} says {req.user}"
    block = ParallelStep("fan", [RefinireAgent("a1", "One", model="m"), RefinireAgent("a2", "Two", model="m")])
    ctx = await block.run_async("hi", Context())
    assert ctx.result == {"a1": "a1 says hi", "a2": "a2 says hi"}
    assert sorted(r.activity for r in llm.requests) == ["a1#1.gen1", "a2#1.gen1"]


# RouterAgent ---------------------------------------------------------------------------------
async def test_llm_router_classifies_and_goes_to_the_route(llm, no_server):
    llm.respond = lambda req: "I would say billing."
    router = RouterAgent({"name": "desk", "routes": {"billing": "pay_step", "tech": "fix_step"},
                          "generation_instructions": "Classify it", "model": "m"})
    ctx = await router.run_async("my invoice is wrong", Context())
    assert ctx.result == "my invoice is wrong"
    assert ctx.next_label == "pay_step" and ctx.current_step == "desk"
    assert ctx.shared_state == {"desk_classification": "billing", "desk_next_step": "pay_step"}
    assert ctx.routing_result == {"classification": "billing", "next_step": "pay_step",
                                  "matched_by": "substring", "reply": "I would say billing."}
    assert [r.activity for r in llm.requests] == ["desk#1.route"]
    assert "Classify it" in llm.requests[0].system and "billing, tech" in llm.requests[0].system
    assert [u["kind"] for u in ctx.usage] == ["route"]


async def test_rule_router_runs_the_rules_here_without_a_model(llm, no_server):
    from refinire.agents.router import RouterConfig

    seen = []

    def even(data, ctx):
        seen.append(ctx.shared_state.get("tag"))
        ctx.shared_state["tag"] = "changed by a rule"  # a rule's copy: never the step's context
        return int(data) % 2 == 0

    router = RouterAgent(RouterConfig(name="parity", routes={"even": "e", "odd": "o"}, classifier_type="rule",
                                      classification_rules={"even": even, "odd": lambda d, c: True}))
    ctx = Context(shared_state={"tag": "t"})
    await router.run_async(7, ctx)
    assert ctx.next_label == "o" and ctx.shared_state["parity_classification"] == "odd"
    assert ctx.shared_state["tag"] == "t" and seen == ["t"]
    assert ctx.routing_result["matched_by"] == "rule"
    assert llm.requests == []


async def test_router_that_cannot_classify_takes_its_default_route(llm, no_server):
    from openai_server import error

    router = RouterAgent({"name": "desk", "routes": {"billing": "pay", "other": "general"},
                          "default_route": "other", "model": "m", "retry": 1})
    llm.respond = lambda req: "no idea"
    ctx = await router.run_async("hmm", Context())
    assert ctx.next_label == "general" and ctx.routing_result["matched_by"] == "default"
    llm.respond = None
    llm.script(error(403, "forbidden"))
    failed = await router.run_async("hmm", Context())
    assert failed.next_label == "general" and failed.shared_state["desk_classification"] == "other"
    assert "HTTP 403" in failed.shared_state["desk_error"] and failed.error["type"] == "PermissionDeniedError"


# ClarifyAgent --------------------------------------------------------------------------------
async def test_clarify_judges_and_passes_its_input_on(llm, no_server):
    llm.script({"score": 92, "clarification_question": "", "reason": "complete"})
    agent = ClarifyAgent("clar", "Ask", "Is it clear?", threshold=80, model="m", next_step="go")
    ctx = await agent.run_async("Build a CRM with search", Context())
    assert ctx.result == "Build a CRM with search" and ctx.next_label == "go"
    cr = ctx.clarification_result
    assert (cr["is_clear"], cr["score"], cr["turns"], cr["timed_out"]) == (True, 92, 1, False)
    assert llm.requests[0].schema == "Clarity" and llm.requests[0].activity == "clar#1.clarify1"
    assert not ctx.awaiting_user_input


async def test_clarify_waiting_for_an_answer_asks_then_continues_with_it(llm, no_server):
    llm.script({"score": 30, "clarification_question": "Which language?", "reason": "vague"},
               {"score": 90, "clarification_question": "", "reason": "ok"})
    agent = ClarifyAgent("clar", "Ask", "Clear?", model="m", wait_for_answer=True, next_step="go")
    ctx = await agent.run_async("Write a program", Context())
    assert ctx.awaiting_user_input and ctx.awaiting_prompt == "Which language?"
    assert ctx.messages[-1].role == "assistant" and ctx.messages[-1].content == "Which language?"
    cr = ctx.clarification_result
    assert (cr["is_clear"], cr["awaiting_answer"], cr["timed_out"], cr["question"]) == (
        False, True, False, "Which language?")
    assert ctx.next_label is None  # it stays where it was (Refinire's "wait for the user's response")
    assert await agent.run_async(None, ctx) is ctx and ctx.awaiting_user_input  # no answer: still waiting
    assert len(llm.requests) == 1

    await agent.run_async("Python", ctx)
    assert not ctx.awaiting_user_input and ctx.awaiting_prompt is None
    assert ctx.result == "Write a program" and ctx.next_label == "go"
    cr = ctx.clarification_result
    assert (cr["is_clear"], cr["turns"]) == (True, 2) and "awaiting_answer" not in cr
    assert cr["answers"] == [{"question": "Which language?", "answer": "Python"}]
    assert [r.activity for r in llm.requests] == ["clar#1.clarify1", "clar#1.clarify2"]
    assert "Answer: Python" in llm.requests[1].user
    assert ctx.last_user_input == "Python"


# The same context as in a durable Flow --------------------------------------------------------
AGENT_CASES = {
    "evaluated": (lambda: evaluated(), "autumn",
                  ["draft one", {"score": 40, "feedback": "more"}, "draft two", {"score": 90, "feedback": "ok"}]),
    "plain": (lambda: RefinireAgent("writer", "Be brief", model="m-test", temperature=0.2, max_tokens=50),
              "hello", ["short"]),
    "clarify": (lambda: ClarifyAgent("clar", "Ask", "Clear?", threshold=80, model="m"), "Do it",
                [{"score": 20, "clarification_question": "Do what?", "reason": "vague"}]),
}


@pytest.mark.parametrize("case", list(AGENT_CASES))
async def test_run_async_leaves_what_a_durable_flow_leaves(llm, case):
    make, text, replies = AGENT_CASES[case]
    llm.script(*replies)
    durable = await Flow(steps=make(), retry=FAST).run(text)
    in_flow = calls(llm)
    llm.reset()
    llm.script(*replies)
    here = await make().run_async(text)
    assert facts(here) == facts(durable.context)
    assert calls(llm) == in_flow


async def test_router_run_async_decides_as_in_a_durable_flow(llm):
    def make():
        return RouterAgent({"name": "route", "routes": {"tech": "tech", "biz": "biz"}, "model": "m",
                            "generation_instructions": "Classify"})

    llm.respond = lambda req: "BIZ"
    flow = Flow({"route": make(), "tech": FunctionStep("tech", lambda data, ctx: None),
                 "biz": FunctionStep("biz", lambda data, ctx: None)}, retry=FAST)
    durable = await flow.run("an invoice")
    in_flow = calls(llm)
    llm.reset()
    llm.respond = lambda req: "BIZ"
    here = await make().run_async("an invoice")
    for field in ("result", "routing_result", "shared_state", "usage", "messages"):
        assert facts(here)[field] == facts(durable.context)[field]
    assert calls(llm) == in_flow and here.next_label == "biz"


async def test_an_answered_clarification_matches_the_durable_run(llm, client):
    from client.serving.worker import build_worker

    replies = [{"score": 30, "clarification_question": "Which language?", "reason": "vague"},
               {"score": 90, "clarification_question": "", "reason": "ok"}]

    def make():
        return ClarifyAgent("clar", "Ask", "Clear?", model="m", wait_for_answer=True)

    llm.script(*replies)
    flow = Flow(steps=make(), retry=FAST)
    handle = await flow.start_run("Write a program")
    async with build_worker(client, flow, sticky_timeout_s=1):
        await handle.wait_for_question(timeout=30)
        await handle.answer("Python")
        durable = await handle.result()
    in_flow = calls(llm)
    llm.reset()
    llm.script(*replies)
    agent = make()
    here = await agent.run_async("Write a program")
    here = await agent.run_async("Python", here)
    assert facts(here) == facts(durable.context)
    assert calls(llm) == in_flow
