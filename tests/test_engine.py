"""Layer 3: whole flows on the session's dev server, with in-process workers."""

from __future__ import annotations

import asyncio
import time

import pytest

from refinire import (
    ConditionStep,
    Context,
    Flow,
    FlowExecutionError,
    FunctionStep,
    NonRetryableError,
    RetrySpec,
    Step,
)

FAST = RetrySpec(max_attempts=2, initial_interval_s=0.05)


async def test_data_flows_through_steps_and_signatures_are_detected():
    async def shout(data, ctx):
        await asyncio.sleep(0)
        return data.upper()

    def keep(ctx):  # one parameter: called f(ctx); returning None keeps the result
        ctx.shared_state["seen"] = ctx.result
        return None

    def as_context(data, ctx):
        ctx.result = data + "!"
        return ctx

    flow = Flow(steps=[FunctionStep("shout", shout), FunctionStep("keep", keep),
                       FunctionStep("bang", as_context)])
    result = await flow.run("hi")
    assert result == "HI!"
    assert result.shared_state == {"seen": "HI"}
    assert [s["step_name"] for s in result.span_history] == ["shout", "keep", "bang"]
    assert all(s["status"] == "completed" for s in result.span_history)
    assert result.step_count == 3 and result.finished and result.is_finished()
    assert result.content == "HI!" and len(result) == 3 and result[:2] == "HI"
    assert result.trace_id == flow.trace_id


async def test_run_with_context_fills_it_and_each_run_starts_fresh():
    def count(data, ctx):
        ctx.shared_state["n"] = ctx.shared_state.get("n", 0) + 1
        return ctx.shared_state["n"]

    flow = Flow(steps=[FunctionStep("count", count)])
    assert await flow.run(None) == 1
    assert await flow.run(None) == 1  # a fresh context per run
    ctx = Context(shared_state={"n": 10})
    out = await flow.run(None, ctx)
    assert out == 11 and ctx.shared_state["n"] == 11 and ctx.result == 11


async def test_custom_step_routes_with_goto_and_finish():
    class Router(Step):
        async def run_async(self, user_input, ctx):
            ctx.result = f"routed {user_input}"
            if user_input == "stop":
                ctx.finish()
            else:
                ctx.goto("b")
            return ctx

    flow = Flow({
        "r": Router("r"),
        "a": FunctionStep("a", lambda d, c: "went to a"),
        "b": FunctionStep("b", lambda d, c: f"b got {d}"),
    })
    assert await flow.run("go") == "b got routed go"
    assert await flow.run("stop") == "routed stop"


async def test_route_dict_condition_with_default_and_unknown_key_failure():
    routed = Flow({
        "c": ConditionStep("c", lambda ctx: ctx.result, {"x": "xs", "default": "other"}),
        "xs": FunctionStep("xs", lambda d, c: "x route"),
        "other": FunctionStep("other", lambda d, c: "default route"),
    })
    assert await routed.run("x") == "x route"
    assert await routed.run("zzz") == "default route"
    strict = Flow({
        "c": ConditionStep("c", lambda ctx: ctx.result, {"x": "xs"}),
        "xs": FunctionStep("xs", lambda d, c: "x route"),
    })
    with pytest.raises(FlowExecutionError) as err:
        await strict.run("nope")
    assert err.value.step == "c"
    run, flow = err.value.run_id, strict.durable_name
    assert str(err.value) == (
        f"Error executing step c: Flow {flow!r}: the condition of step 'c' returned 'nope', which is not "
        "a route. Known routes: ['x']. Return one of them or add a 'default' route. "
        f"(run {run!r}; inspect it with `refinire-flow show {run}`, rerun it with `refinire-flow rerun {run}`)")


async def test_a_condition_that_raises_fails_the_run_instead_of_sticking(client):
    flow = Flow({
        "c": ConditionStep("c", lambda ctx: ctx.shared_state["missing"], "a", "a"),
        "a": FunctionStep("a", lambda d, c: "a"),
    })
    with pytest.raises(FlowExecutionError) as err:
        await flow.run("x")
    run = err.value.run_id
    assert str(err.value) == (
        f"Error executing step c: Flow {flow.durable_name!r}: the condition of step 'c' raised KeyError: "
        "'missing'. Conditions run inside the workflow; make it a pure function of ctx that cannot raise. "
        f"(run {run!r}; inspect it with `refinire-flow show {run}`, rerun it with `refinire-flow rerun {run}`)")
    desc = await client.get_workflow_handle(err.value.run_id).describe()
    assert desc.status.name == "FAILED"  # closed, not retrying a workflow task forever


async def test_failed_run_raises_flow_execution_error_with_run_step_and_cause(client):
    def broken(data, ctx):
        raise ValueError(f"bad input {data!r}")

    flow = Flow(steps=[FunctionStep("ok", lambda d, c: d), FunctionStep("broken", broken, retry=FAST)])
    with pytest.raises(FlowExecutionError) as err:
        await flow.run("x")
    e = err.value
    assert (e.step, e.cause_type, e.cause_message) == ("broken", "ValueError", "bad input 'x'")
    assert e.run_id and e.run_id in str(e)
    handle = client.get_workflow_handle(e.run_id)
    assert (await handle.describe()).status.name == "FAILED"  # kept in Temporal, inspectable
    attempts = [ev.activity_task_started_event_attributes.attempt
                async for ev in handle.fetch_history_events()
                if ev.HasField("activity_task_started_event_attributes")]
    assert attempts[-1] == 2  # retried per the step's policy, then gave up


async def test_non_retryable_error_is_not_retried(client):
    calls = []

    def refuse(data, ctx):
        calls.append(1)
        raise NonRetryableError("no point retrying")

    flow = Flow(steps=[FunctionStep("refuse", refuse, retry=5)])
    with pytest.raises(FlowExecutionError, match="no point retrying"):
        await flow.run(None)
    assert len(calls) == 1


async def test_error_handler_routes_a_failed_step_to_a_fallback():
    seen = {}

    def fail(data, ctx):
        raise ConnectionError("External API Error: Connection timeout")

    def handler(error, ctx):
        seen["type"] = type(error).__name__
        ctx.shared_state["error_message"] = str(error)
        return "fallback"

    flow = Flow({
        "call": FunctionStep("call", fail, retry=FAST),
        "done": FunctionStep("done", lambda d, c: f"ok {d}"),
        "fallback": FunctionStep("fallback", lambda d, c: f"fallback got {d}"),
    })
    flow.set_error_handler(handler)
    result = await flow.run("payload")
    assert result == "fallback got payload"  # the failed step's input
    assert result.shared_state["error_message"] == "External API Error: Connection timeout"
    assert seen["type"] == "ConnectionError"


async def test_error_handler_returning_none_fails_the_run():
    flow = Flow(steps=[FunctionStep("x", lambda d, c: 1 / 0, retry=1)])
    flow.set_error_handler(lambda error, ctx: None)
    with pytest.raises(FlowExecutionError) as err:
        await flow.run(None)
    assert err.value.cause_type == "ZeroDivisionError"


async def test_max_steps_bounds_a_loop():
    flow = Flow({
        "inc": FunctionStep("inc", lambda d, c: (d or 0) + 1),
        "again": ConditionStep("again", lambda ctx: True, "inc", "inc"),
    }, max_steps=7)
    with pytest.raises(FlowExecutionError, match="exceeded max_steps=7"):
        await flow.run(0)


async def test_loop_until_condition_then_finish():
    flow = Flow({
        "inc": FunctionStep("inc", lambda d, c: d + 1),
        "again": ConditionStep("again", lambda ctx: ctx.result < 4, "inc", "done"),
        "done": FunctionStep("done", lambda d, c: f"counted to {d}"),
    })
    result = await flow.run(0)
    assert result == "counted to 4"
    assert result.path.count("inc") == 4


async def test_shared_state_that_is_not_json_fails_naming_step_and_key():
    def bad(data, ctx):
        ctx.shared_state["conn"] = object()
        return "x"

    flow = Flow(steps=[FunctionStep("bad", bad)])
    with pytest.raises(FlowExecutionError) as err:
        await flow.run(None)
    assert "step 'bad'" in str(err.value) and "shared_state['conn']" in str(err.value)
    assert "not JSON-serializable" in str(err.value)


async def _intervals(max_workers: int) -> list[tuple[float, float]]:
    def branch(i):
        def work(data, ctx):
            start = time.monotonic()
            time.sleep(1)
            ctx.shared_state[f"t{i}"] = [start, time.monotonic()]
            return i
        return work

    flow = Flow(start="p", steps={
        "p": {"parallel": [FunctionStep(f"b{i}", branch(i)) for i in range(3)], "max_workers": max_workers},
    })
    result = await flow.run("go")
    assert result == {"b0": 0, "b1": 1, "b2": 2}
    return sorted(tuple(result.shared_state[f"t{i}"]) for i in range(3))


async def test_parallel_branches_overlap_up_to_max_workers():
    wide = await _intervals(3)
    assert all(a_end > b_start for (_, a_end), (b_start, _) in zip(wide, wide[1:]))  # overlapping
    narrow = await _intervals(1)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(narrow, narrow[1:]))  # one at a time


async def test_parallel_branch_failure_goes_to_handler_and_keeps_finished_branches():
    flow = Flow({
        "p": {"parallel": [FunctionStep("good", lambda d, c: "fine"),
                           FunctionStep("bad", lambda d, c: 1 / 0, retry=1)], "next_step": "after"},
        "after": FunctionStep("after", lambda d, c: "after"),
        "rescue": FunctionStep("rescue", lambda d, c: f"rescued, good={c.shared_state['good']}"),
    })
    flow.set_error_handler(lambda e, ctx: "rescue")
    assert await flow.run("in") == "rescued, good=fine"


async def test_run_id_attaches_to_an_existing_run_instead_of_starting_another():
    calls = []

    def once(data, ctx):
        calls.append(data)
        return f"done {data}"

    flow = Flow(steps=[FunctionStep("once", once)])
    run_id = f"attach-{time.time_ns()}"
    first = await flow.run("a", run_id=run_id)
    again = await flow.run("b", run_id=run_id)  # finished: returns its result, runs nothing
    assert first == again == "done a" and calls == ["a"]
    both = await asyncio.gather(flow.run("c", run_id=run_id + "-2"), flow.run("c", run_id=run_id + "-2"))
    assert both[0] == both[1] == "done c" and calls == ["a", "c"]


async def test_flow_end_as_a_routing_target_finishes_the_run():
    flow = Flow({
        "gate": ConditionStep("gate", lambda ctx: ctx.result == "stop", Flow.END, "work"),
        "work": FunctionStep("work", lambda d, c: f"worked on {d}", next_step=Flow.END),
        "never": FunctionStep("never", lambda d, c: "unreachable"),
    })
    assert await flow.run("stop") == "stop"
    result = await flow.run("go")
    assert result == "worked on go" and result.path == ["gate", "work"]


async def test_local_activity_steps_fail_like_regular_ones():
    flow = Flow({
        "a": FunctionStep("a", lambda d, c: d),
        "fragile": FunctionStep("fragile", lambda d, c: 1 / 0, retry=FAST),
    }, local=True)
    with pytest.raises(FlowExecutionError) as err:
        await flow.run(1)
    assert (err.value.step, err.value.cause_type) == ("fragile", "ZeroDivisionError")
    flow.set_error_handler(lambda e, ctx: Flow.END)
    assert await flow.run(5) == 5


async def test_look_alike_flows_from_a_factory_never_run_each_others_code():
    def make(n):
        return Flow(steps=[FunctionStep("add", lambda d, c: d + n)])  # same graph, same qualname

    one, ten = make(1), make(10)
    results = await asyncio.gather(one.run(0), ten.run(0), one.run(5), ten.run(5))
    assert results == [1, 10, 6, 15]
    assert one.durable_name != ten.durable_name
