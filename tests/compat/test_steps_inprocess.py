"""``await step.run_async(input, ctx)`` outside any flow and without a server, Refinire's unit-test
style: each step records itself in the context (current step, step count, span) and routes."""

from __future__ import annotations

from refinire import (
    ConditionStep,
    Context,
    DebugStep,
    ForkStep,
    FunctionStep,
    JoinStep,
    ParallelStep,
    UserInputStep,
    create_lambda_step,
    create_simple_condition,
)


async def test_function_step_records_itself_and_routes():
    ctx = Context()
    out = await FunctionStep("upper", lambda data, c: data.upper(), next_step="after").run_async("hi", ctx)
    assert out.result == "HI" and out.next_label == "after" and not out.is_finished()
    assert out.current_step == "upper" and out.step_count == 1
    assert [s["step_name"] for s in out.span_history] == ["upper"]
    last = await FunctionStep("last", lambda c: None).run_async(None, out)
    assert last.is_finished() and last.step_count == 2 and last.span_history[0]["status"] == "completed"


async def test_function_step_error_is_recorded_and_the_step_moves_on():
    def boom(data, ctx):
        raise RuntimeError("exploded")

    out = await FunctionStep("s", boom, next_step="n").run_async("x", Context())
    assert out.messages[-1].role == "system"
    assert out.messages[-1].content == "Function execution error in s: exploded"
    assert out.next_label == "n"


async def test_function_step_without_a_context_makes_one():
    out = await FunctionStep("s", lambda d, c: d * 2).run_async(21)
    assert out.result == 42 and out.is_finished()


async def test_condition_step_routes_and_takes_false_on_error():
    true = await ConditionStep("c", lambda ctx: True, "yes", "no").run_async(None, Context())
    assert true.next_label == "yes" and true.current_step == "c"

    async def later(ctx):
        return False

    assert (await ConditionStep("c", later, "yes", "no").run_async(None, Context())).next_label == "no"
    failed = await ConditionStep("c", lambda ctx: ctx.shared_state["missing"], "yes", "no").run_async(None, Context())
    assert failed.next_label == "no"
    assert failed.messages[-1].content.startswith("Condition evaluation error:")


async def test_parallel_step_merges_branches_in_process():
    def a(data, ctx):
        ctx.shared_state["from_a"] = 1
        return f"a:{data}"

    step = ParallelStep("p", parallel_steps=[FunctionStep("a", a), FunctionStep("b", lambda d, c: f"b:{d}")],
                        next_step="join")
    assert [s.name for s in step.parallel_steps] == ["a", "b"]
    out = await step.run_async("x", Context())
    assert out.result == {"a": "a:x", "b": "b:x"}
    assert out.shared_state["a"] == "a:x" and out.shared_state["from_a"] == 1
    assert out.shared_state["__b_metadata__"] == {"status": "completed", "output": "b:x"}
    assert out.next_label == "join"


async def test_user_input_step_waits_without_input_and_moves_on_with_it():
    step = UserInputStep("ask", "Your name?", next_step="greet")
    waiting = await step.run_async(None, Context())
    assert waiting.awaiting_user_input and waiting.awaiting_prompt == "Your name?"
    assert waiting.routing_result["needs_user_input"] is True
    assert waiting.clear_prompt() == "Your name?"
    answered = await step.run_async("Ada", Context())
    assert answered.last_user_input == "Ada" and answered.next_label == "greet"
    assert not answered.awaiting_user_input


async def test_debug_step_prints_and_passes_input_on(capsys):
    ctx = Context(result="payload")
    out = await DebugStep("dbg", "checkpoint", next_step="x").run_async("payload", ctx)
    printed = capsys.readouterr().out
    assert "DEBUG [dbg]: checkpoint | User Input: payload" in printed
    assert out.result == "payload" and out.next_label == "x"
    assert out.messages[-1].content == "DEBUG dbg: checkpoint"


async def test_fork_and_join_steps():
    ctx = await ForkStep("fork", ["a", "b"], "join").run_async(None, Context())
    assert ctx.shared_state["fork_branches"] == ["a", "b"] and ctx.next_label == "join"
    ctx = await JoinStep("join", "fork", next_step="end").run_async(None, ctx)
    assert ctx.messages[-1].content == "Joined 2 branches using all strategy" and ctx.next_label == "end"


async def test_lambda_step_and_simple_condition():
    step = create_lambda_step("mark", lambda ctx: ctx.shared_state.update(status="ok"), next_step="c")
    ctx = await step.run_async("in", Context(result="in"))
    assert ctx.shared_state["status"] == "ok" and ctx.result == "in" and ctx.next_label == "c"
    assert create_simple_condition("shared_state.status", "ok")(ctx)
    assert not create_simple_condition("shared_state.status", "bad")(ctx)
    assert not create_simple_condition("shared_state.nope.deeper", 1)(ctx)
    assert create_simple_condition("current_step", "mark")(ctx)
