"""``flow.add_hook`` around agent steps of a durable run: called by the worker running the workflow
when the step starts, ends or fails, with a copy of the context, never on replay."""

from __future__ import annotations

import threading
import uuid

import pytest

from refinire import Flow, FlowExecutionError, FunctionStep, RefinireAgent, RetrySpec, RouterAgent

FAST = RetrySpec(max_attempts=1)


def recorder(flow: Flow) -> list[tuple]:
    seen: list[tuple] = []
    lock = threading.Lock()

    def add(*item):
        with lock:
            seen.append(item)

    flow.add_hook("before_step", lambda name, ctx: add("before", name, ctx.result))
    flow.add_hook("after_step", lambda name, ctx, result: add("after", name, result.result))
    flow.add_hook("error", lambda name, ctx, err: add("error", name, type(err).__name__, str(err)))
    return seen


async def test_hooks_fire_around_agent_steps_in_order_and_not_on_replay(llm, client):
    from test_agents_route_clarify import replays

    llm.respond = lambda req: "billing" if "Classify" in req.system else f"text:{req.user}"
    flow = Flow({
        "write": RefinireAgent("writer", "Write", model="m"),
        "route": RouterAgent({"name": "desk", "routes": {"billing": "post"}, "model": "m",
                              "generation_instructions": "Classify"}),
        "post": FunctionStep("post", lambda data, ctx: f"<{data}>"),
    }, name=f"agent-hooks-{uuid.uuid4().hex[:8]}", retry=FAST)
    seen = recorder(flow)
    result = await flow.run("topic")
    assert str(result) == "<text:topic>"
    assert seen == [
        ("before", "writer", "topic"), ("after", "writer", "text:topic"),
        ("before", "desk", "text:topic"), ("after", "desk", "text:topic"),
        ("before", "post", "text:topic"), ("after", "post", "<text:topic>"),
    ]
    await replays(await client.get_workflow_handle(result.run_id).fetch_history())
    assert len(seen) == 6  # replaying the history called no hook


async def test_a_hook_gets_a_copy_and_cannot_change_the_run(llm):
    llm.respond = lambda req: "text"
    flow = Flow(steps=RefinireAgent("writer", "Write", model="m"),
                name=f"agent-hooks-copy-{uuid.uuid4().hex[:8]}", retry=FAST)

    def meddle(name, ctx):
        ctx.shared_state["meddled"] = True
        ctx.result = "changed"

    flow.add_hook("before_step", meddle)
    result = await flow.run("topic")
    assert str(result) == "text" and "meddled" not in result.shared_state
    assert llm.requests[0].user == "topic"


async def test_the_error_hook_gets_the_calls_error_and_the_run_still_fails(llm):
    from openai_server import error

    llm.script(error(401, "bad key"))
    flow = Flow(steps=RefinireAgent("locked", "Write", model="m"),
                name=f"agent-hooks-err-{uuid.uuid4().hex[:8]}", retry=FAST)
    seen = recorder(flow)
    with pytest.raises(FlowExecutionError):
        await flow.run("q")
    assert seen[0] == ("before", "locked", "q")
    assert seen[1][:3] == ("error", "locked", "AuthenticationError") and "HTTP 401" in seen[1][3]
    assert len(seen) == 2


async def test_agent_branches_of_a_parallel_block_fire_their_hooks(llm):
    llm.respond = lambda req: f"{req.step}"
    flow = Flow(start="fan", steps={
        "fan": {"parallel": [RefinireAgent("a1", "One", model="m"), RefinireAgent("a2", "Two", model="m")]},
    }, name=f"agent-hooks-par-{uuid.uuid4().hex[:8]}", retry=FAST)
    seen = recorder(flow)
    await flow.run("hi")
    assert sorted(seen) == [("after", "a1", "fan/a1"), ("after", "a2", "fan/a2"),
                            ("before", "a1", "hi"), ("before", "a2", "hi")]
