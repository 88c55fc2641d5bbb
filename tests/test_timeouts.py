"""One meaning of ``timeout``: an agent's model-call timeout. A step's limit per attempt is
``step_timeout`` (every step and ``Flow``), a wait for a person is ``answer_timeout``.

The old spellings (``FunctionStep(timeout=)``, ``Flow(timeout=)``, ``UserInputStep(timeout=)``)
still work, warn, and compile to the very same spec, so runs in flight keep their flow's name.
Real runs on the session's dev server; model calls go to the scripted OpenAI-speaking server.
"""

from __future__ import annotations

import asyncio
import threading
import warnings

import pytest
from openai_server import Reply

from refinire import (
    ClarifyAgent,
    Flow,
    FlowDefinitionError,
    FlowExecutionError,
    FunctionStep,
    RefinireAgent,
    RetrySpec,
    UserInputStep,
)

ONCE = RetrySpec(max_attempts=1)


def greet(data, ctx):
    return f"Hello {data}"


async def slow(data, ctx):
    await asyncio.sleep(120)  # the step under test: far longer than its limit
    return "finished late"


# The old spellings: warn, name class, argument and replacement, same spec -----------------------
def test_function_step_timeout_warns_and_compiles_as_step_timeout():
    with pytest.warns(DeprecationWarning) as caught:
        old = FunctionStep("greet", greet, timeout=5)
    assert len(caught) == 1
    assert str(caught[0].message).startswith(
        "FunctionStep(timeout=...) is deprecated: pass step_timeout=5 instead (seconds one attempt "
        "of the step may run before Temporal ends it and retries).")
    assert caught[0].filename == __file__  # points at the caller's line, not at our code
    new = FunctionStep("greet", greet, step_timeout=5)
    assert old.options == new.options and old.options.start_to_close_s == 5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old_flow = Flow({"greet": FunctionStep("greet", greet, timeout=5)}, name="t-hash")
    new_flow = Flow({"greet": FunctionStep("greet", greet, step_timeout=5)}, name="t-hash")
    assert old_flow.spec.model_dump() == new_flow.spec.model_dump()
    assert old_flow.spec.content_hash == new_flow.spec.content_hash


def test_flow_timeout_warns_and_sets_the_same_default():
    with pytest.warns(DeprecationWarning, match=r"^Flow\(timeout=\.\.\.\) is deprecated: pass "
                                                r"step_timeout=30 instead \(seconds one attempt"):
        old = Flow({"greet": FunctionStep("greet", greet)}, name="t-flow", timeout=30)
    new = Flow({"greet": FunctionStep("greet", greet)}, name="t-flow", step_timeout=30)
    assert old.spec.defaults.start_to_close_s == 30
    assert old.spec == new.spec


def test_user_input_step_timeout_warns_and_means_answer_timeout():
    with pytest.warns(DeprecationWarning, match=r"^UserInputStep\(timeout=\.\.\.\) is deprecated: pass "
                                                r"answer_timeout=7 instead \(seconds to wait for an answer\)"):
        old = UserInputStep("ask", "Name?", timeout=7)
    assert old.answer_timeout == 7
    new = UserInputStep("ask", "Name?", answer_timeout=7)
    assert old._spec("ask", None) == new._spec("ask", None)


def test_new_spellings_and_agent_timeouts_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        FunctionStep("greet", greet, step_timeout=5)
        Flow({"greet": FunctionStep("greet", greet)}, step_timeout=5)
        UserInputStep("ask", "Name?", answer_timeout=5)
        agent = RefinireAgent("w", "Write", model="m", timeout=5, step_timeout=60)
        ClarifyAgent("c", "Ask", "Clear?", timeout=5, answer_timeout=10)
    spec = agent._spec("w", None)
    assert spec.timeout_s == 5 and spec.options.start_to_close_s == 60


def test_both_spellings_at_once_is_a_definition_error_naming_both():
    with pytest.raises(FlowDefinitionError) as err:
        FunctionStep("greet", greet, timeout=5, step_timeout=10)
    assert str(err.value) == (
        "FunctionStep 'greet': timeout=5 and step_timeout=10 are both given; timeout= is the deprecated "
        "spelling of step_timeout= (seconds one attempt of the step may run before Temporal ends it "
        "and retries). Pass only step_timeout=.")


# What each one does on a real run ------------------------------------------------------------------
async def test_step_timeout_ends_an_attempt_that_runs_too_long(client):
    flow = Flow({"slow": FunctionStep("slow", slow, step_timeout=1, retry=ONCE)})
    with pytest.raises(FlowExecutionError) as err:
        await flow.run("x")
    assert (err.value.step, err.value.cause_type, err.value.cause_message) == (
        "slow", "TimeoutError", "step 'slow' ran longer than its step_timeout of 1 s on its only attempt, so "
        "Temporal stopped it (start_to_close timeout). Give it more time with step_timeout= on the step "
        "(FunctionStep(..., step_timeout=SECONDS)) or on the flow for every step (Flow(..., "
        "step_timeout=SECONDS)), or make the step faster")


async def test_the_old_function_step_timeout_still_limits_the_step(client):
    with pytest.warns(DeprecationWarning, match=r"^FunctionStep\(timeout=\.\.\.\)"):
        step = FunctionStep("slow", slow, timeout=1, retry=ONCE)
    flow = Flow({"slow": step})
    with pytest.raises(FlowExecutionError) as err:
        await flow.run("x")
    assert (err.value.step, err.value.cause_type) == ("slow", "TimeoutError")


async def test_flow_step_timeout_is_every_steps_default(client):
    flow = Flow({"fast": FunctionStep("fast", greet), "slow": FunctionStep("slow", slow)},
                step_timeout=1, retry=ONCE)
    with pytest.raises(FlowExecutionError) as err:
        await flow.run("x")
    assert (err.value.step, err.value.cause_type, err.value.cause_message) == (
        "slow", "TimeoutError", "step 'slow' ran longer than its step_timeout of 1 s (the flow's) on its only "
        "attempt, so Temporal stopped it (start_to_close timeout). Give it more time with step_timeout= on "
        "the step (FunctionStep(..., step_timeout=SECONDS)) or on the flow for every step (Flow(..., "
        "step_timeout=SECONDS)), or make the step faster")


async def test_an_agent_timeout_abandons_a_model_call_that_takes_too_long(llm, client):
    held = threading.Event()
    llm.script(Reply("too late", hold=held))
    flow = Flow(steps=RefinireAgent("writer", "Write", model="m-test", timeout=0.5, retry=ONCE))
    try:
        with pytest.raises(FlowExecutionError) as err:
            await flow.run("topic")
    finally:
        held.set()
    assert (err.value.step, err.value.cause_type) == ("writer", "APITimeoutError")
    assert [r.activity for r in llm.requests] == ["writer#1.gen1"]


async def test_an_agent_timeout_is_per_call_and_a_retry_gets_a_fresh_one(llm, client):
    held = threading.Event()
    llm.script(Reply("too late", hold=held), "on time")
    retry = RetrySpec(max_attempts=2, initial_interval_s=0.1)
    flow = Flow(steps=RefinireAgent("writer", "Write", model="m-test", timeout=0.5, retry=retry))
    try:
        result = await flow.run("topic")
    finally:
        held.set()
    assert str(result) == "on time"
    assert [r.activity for r in llm.requests] == ["writer#1.gen1", "writer#1.gen1"]
    assert [u["activity_attempt"] for u in result.usage] == [2]


async def test_answer_timeout_fails_a_user_input_step_nobody_answers(client):
    flow = Flow({"name": UserInputStep("name", "Name?", answer_timeout=1),
                 "greet": FunctionStep("greet", greet)})
    with pytest.raises(FlowExecutionError) as err:
        await flow.run()
    assert (err.value.step, err.value.cause_type) == ("name", "AnswerTimeout")
    assert "Name?" in err.value.cause_message
