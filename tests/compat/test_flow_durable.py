"""The same Refinire code on the session's dev server: durable runs keep Refinire's surface."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from refinire import (
    ConditionStep,
    Context,
    Flow,
    FlowExecutionError,
    ForkStep,
    FunctionStep,
    JoinStep,
    NonRetryableError,
    RefinireError,
    RetrySpec,
    Step,
    UserInputStep,
    create_conditional_flow,
    create_simple_condition,
    create_simple_flow,
    get_global_registry,
)

FAST = RetrySpec(max_attempts=1)


async def test_text_input_is_the_first_user_message_and_initial_input_works():
    def echo_last(data, ctx):
        return f"{ctx.last_user_input}/{data}"

    flow = Flow(steps=[FunctionStep("echo", echo_last)], name="compat-initial-input")
    result = await flow.run(initial_input="hello")
    assert result == "hello/hello"
    assert result.messages[0].role == "user" and result.messages[0].content == "hello"
    positional = await flow.run(None, "again")  # Refinire's run(input_data, initial_input)
    assert positional == "again/again"


async def test_context_given_to_the_flow_seeds_every_run_and_history_is_recorded():
    ctx = Context(shared_state={"greeting": "hi"})
    flow = Flow({"a": FunctionStep("a", lambda d, c: f"{c.shared_state['greeting']} {d}"),
                 "b": FunctionStep("b", lambda d, c: d.upper())}, context=ctx, name="compat-seeded")
    first = await flow.run("ada")
    second = await flow.run("bob")
    assert (first, second) == ("HI ADA", "HI BOB")
    assert flow.finished and flow.current_step_name is None
    assert [s["step_name"] for s in flow.get_step_history()] == ["a", "b"]
    assert all(s["status"] == "completed" for s in flow.step_history)
    summary = flow.get_flow_summary()
    assert summary["step_count"] == 2 and summary["finished"] and summary["last_run_id"] == second.run_id


async def test_hooks_run_in_the_worker_around_each_step_attempt():
    calls: list[tuple[str, str]] = []

    def fails(data, ctx):
        raise NonRetryableError("no way")

    flow = Flow({"a": FunctionStep("a", lambda d, c: d + 1),
                 "check": ConditionStep("check", lambda c: c.result > 1, "bad", "end"),
                 "bad": FunctionStep("bad", fails, retry=FAST),
                 "end": FunctionStep("end", lambda d, c: d)}, name="compat-hooks")
    flow.add_hook("before_step", lambda name, ctx: calls.append(("before", name)))
    flow.add_hook("after_step", lambda name, ctx, result: calls.append(("after", f"{name}={ctx.result}")))
    flow.add_hook("error", lambda name, ctx, err: calls.append(("error", f"{name}:{err}")))
    assert await flow.run(0) == 1
    assert calls == [("before", "a"), ("after", "a=1"), ("before", "end"), ("after", "end=1")]
    calls.clear()
    with pytest.raises(FlowExecutionError):
        await flow.run(1)
    assert calls == [("before", "a"), ("after", "a=2"), ("before", "bad"), ("error", "bad:no way")]


async def test_a_failed_run_is_a_refinire_error_with_refinire_wording():
    def boom(data, ctx):
        raise NonRetryableError("disk full")

    flow = Flow({"save": FunctionStep("save", boom)}, name="compat-error-wording")
    with pytest.raises(RefinireError) as err:
        await flow.run("x")
    assert isinstance(err.value, FlowExecutionError)
    assert str(err.value).startswith("Error executing step save: ")
    assert "disk full" in str(err.value) and err.value.run_id in str(err.value)
    assert err.value.details["step"] == "save"
    record = get_global_registry().traces[flow.trace_id]
    assert record.status == "error" and record.tags["error_step"] == "save"

    loop = Flow({"inc": FunctionStep("inc", lambda d, c: d + 1, next_step="inc")}, max_steps=3,
                name="compat-max-steps")
    with pytest.raises(FlowExecutionError, match=r"^Flow exceeded maximum steps \(3\)"):
        await loop.run(0)


class Marker(Step):
    """A Refinire-style custom step: records itself and routes with goto."""

    async def run_async(self, user_input, ctx):
        ctx.update_step_info(self.name)
        ctx.shared_state["marked"] = ctx.current_step
        ctx.goto("join")
        return ctx


async def test_refinire_custom_steps_fork_and_join_run_durably():
    flow = Flow({
        "mark": Marker("mark"),
        "fork": ForkStep("fork", ["a", "b"], "join"),
        "join": JoinStep("join", "fork"),
    }, name="compat-fork-join")
    result = await flow.run("go")
    assert result.shared_state["marked"] == "mark"
    assert result.step_count == 2  # the workflow counts steps; update_step_info in a step does not
    assert [s["step_name"] for s in result.span_history] == ["mark", "join"]


async def test_factories_run_durably():
    simple = create_simple_flow([("one", FunctionStep("one", lambda d, c: d + "1")),
                                 ("two", FunctionStep("two", lambda d, c: d + "2"))], name="compat-simple")
    assert await simple.run("x") == "x12"

    def init(data, ctx):
        ctx.shared_state["size"] = "big" if len(data) > 3 else "small"
        return data

    cond = ConditionStep("size?", create_simple_condition("shared_state.size", "big"), "t", "f")
    flow = create_conditional_flow(FunctionStep("init", init), cond,
                                   [FunctionStep("t1", lambda d, c: "big1"), FunctionStep("t2", lambda d, c: d + "+2")],
                                   [FunctionStep("f1", lambda d, c: "small")], name="compat-conditional")
    assert await flow.run("lengthy") == "big1+2"
    assert await flow.run("ab") == "small"


async def test_stop_cancels_a_background_run_in_temporal():
    reached = asyncio.Event()
    flow = Flow({"prepare": FunctionStep("prepare", lambda d, c: d),
                 "ask": UserInputStep("ask", "Your name?")}, name="compat-stop")
    flow.add_hook("after_step", lambda name, ctx, result: reached.set())
    task = await flow.start_background_task()
    with pytest.raises(RuntimeError, match="already running as background task"):
        await flow.start_background_task()
    await reached.wait()
    run_id = flow.last_run_id
    flow.stop()
    assert await task is None
    assert flow.finished

    from client.connection.connect import connect

    desc = await (await connect()).get_workflow_handle(run_id).describe()
    assert desc.status.name == "CANCELED"


async def test_trace_registry_searches_runs_by_flow_status_and_time():
    ok = Flow({"a": FunctionStep("a", lambda d, c: d)}, name="compat-registry")
    before = datetime.now() - timedelta(seconds=1)
    done = await ok.run("x")
    bad = Flow({"a": FunctionStep("a", lambda d, c: (_ for _ in ()).throw(NonRetryableError("no")))},
               name="compat-registry-bad")
    with pytest.raises(FlowExecutionError) as err:
        await bad.run("x")
    failed = err.value.run_id
    registry = get_global_registry()
    by_name = {r.trace_id: r for r in await registry.asearch_by_flow_name("compat-registry")}
    assert by_name[done.run_id].status == "completed" and failed not in by_name
    assert done.run_id in {r.trace_id for r in registry.search_by_flow_name("registry", exact_match=False)}
    assert failed in {r.trace_id for r in registry.search_by_status("error")}
    assert done.run_id not in {r.trace_id for r in registry.search_by_status("error")}
    recent = {r.trace_id for r in registry.search_by_time_range(before, datetime.now() + timedelta(seconds=5))}
    assert {done.run_id, failed} <= recent
    assert done.run_id not in {r.trace_id for r in registry.search_by_time_range(end_time=before)}
    found = registry.complex_search(flow_name="compat-registry-bad", status="error")
    assert failed in {r.trace_id for r in found}
    assert registry.get_trace(done.run_id).status == "completed"
