"""Parallel branches never lose a write: each branch's changes are a diff against the fork.

Disjoint changes all apply (deletes too); two branches changing one key is an error naming the key
and both branches, unless the block says how to merge it.
"""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowExecutionStatus

from refinire import Flow, FlowDefinitionError, FlowExecutionError, FunctionStep


def _append(item):
    def step(data, ctx):
        ctx.shared_state["log"].append(item)
        ctx.shared_state["count"] += 1
        return item

    return step


def _start(data, ctx):
    ctx.shared_state.update(log=["fork"], count=10, doomed="x", tags=["a"], meta={"k": 1})
    return data


def _flow(name: str, **block) -> Flow:
    return Flow({
        "start": FunctionStep("start", _start, next_step="fan"),
        "fan": {"parallel": [FunctionStep("left", _append("L")), FunctionStep("right", _append("R"))],
                "next_step": "end", **block},
        "end": FunctionStep("end", lambda data, ctx: data),
    }, name=name)


async def test_two_branches_changing_one_key_is_an_error_naming_the_key_and_both_branches(client):
    with pytest.raises(FlowExecutionError) as err:
        await _flow("merge_conflict").run("go")
    message = str(err.value)
    assert "branches 'left' and 'right' both changed shared_state['log']" in message
    assert "'merge'" in message and "extend" in message and err.value.step == "fan"
    desc = await client.get_workflow_handle(err.value.run_id).describe()
    assert desc.status == WorkflowExecutionStatus.FAILED


async def test_declared_merges_keep_every_branchs_write():
    result = await _flow("merge_declared", merge={"log": "extend", "count": "sum"}).run("go")
    assert result.shared_state["log"] == ["fork", "L", "R"]  # declaration order, both appends
    assert result.shared_state["count"] == 12  # both increments
    assert result == {"left": "L", "right": "R"}
    assert result.shared_state["left"] == "L" and result.shared_state["__right_metadata__"] == {
        "status": "completed", "output": "R"}


async def test_disjoint_changes_and_deletes_all_apply():
    def one(data, ctx):
        ctx.shared_state["from_one"] = 1
        del ctx.shared_state["doomed"]
        return "one"

    def two(data, ctx):
        ctx.shared_state["from_two"] = 2
        ctx.shared_state["meta"] = {"k": 2}
        return "two"

    flow = Flow({
        "start": FunctionStep("start", _start, next_step="fan"),
        "fan": {"parallel": [FunctionStep("one", one), FunctionStep("two", two)], "next_step": "end"},
        "end": FunctionStep("end", lambda data, ctx: sorted(ctx.shared_state)),
    }, name="merge_disjoint")
    result = await flow.run("go")
    state = result.shared_state
    assert "doomed" not in state  # a branch's delete is not undone by the other branch
    assert state["from_one"] == 1 and state["from_two"] == 2 and state["meta"] == {"k": 2}


async def test_a_merge_function_combines_values_like_a_reducer():
    def tag(name):
        def step(data, ctx):
            ctx.shared_state["tags"] = ctx.shared_state["tags"] + [name]
            return name
        return step

    flow = Flow({
        "start": FunctionStep("start", _start, next_step="fan"),
        "fan": {"parallel": [FunctionStep(n, tag(n)) for n in ("x", "y", "z")], "next_step": "end",
                "merge": {"tags": lambda a, b: a + [t for t in b if t not in a]}},
        "end": FunctionStep("end", lambda data, ctx: ctx.shared_state["tags"]),
    }, name="merge_function")
    assert await flow.run("go") == ["a", "x", "y", "z"]


async def test_two_branches_writing_equal_values_is_still_a_conflict():
    """Each branch increments one counter: both write 1, and keeping one would lose an increment."""
    def visit(data, ctx):
        ctx.shared_state["visits"] = ctx.shared_state.get("visits", 0) + 1
        return data

    flow = Flow({
        "fan": {"parallel": [FunctionStep("p", visit), FunctionStep("q", visit)], "next_step": "end"},
        "end": FunctionStep("end", lambda data, ctx: ctx.shared_state["visits"]),
    }, name="merge_equal_values")
    with pytest.raises(FlowExecutionError) as err:
        await flow.run("go")
    assert "branches 'p' and 'q' both changed shared_state['visits']" in str(err.value)
    summed = Flow({
        "fan": {"parallel": [FunctionStep("p", visit), FunctionStep("q", visit)], "next_step": "end",
                "merge": {"visits": "sum"}},
        "end": FunctionStep("end", lambda data, ctx: ctx.shared_state["visits"]),
    }, name="merge_equal_values_summed")
    assert await summed.run("go") == 2


async def test_sum_and_extend_keep_the_values_types():
    from decimal import Decimal
    from datetime import timedelta

    def add(data, ctx):
        ctx.shared_state["total"] += Decimal("1.00")
        ctx.shared_state["wait"] += timedelta(seconds=5)
        ctx.shared_state["trail"] = ctx.shared_state["trail"] + (data,)
        return data

    flow = Flow({
        "start": FunctionStep("start", lambda d, c: c.shared_state.update(
            total=Decimal("10.00"), wait=timedelta(seconds=1), trail=("s",)) or d, next_step="fan"),
        "fan": {"parallel": [FunctionStep("a", add), FunctionStep("b", add)], "next_step": "end",
                "merge": {"total": "sum", "wait": "sum", "trail": "extend"}},
        "end": FunctionStep("end", lambda d, c: d),
    }, name="merge_typed_sum")
    result = await flow.run("x")
    assert result.shared_state["total"] == Decimal("12.00")
    assert result.shared_state["wait"] == timedelta(seconds=11)
    assert result.shared_state["trail"] == ("s", "x", "x")


def test_an_unknown_merge_strategy_fails_when_the_flow_is_built():
    with pytest.raises(FlowDefinitionError) as err:
        _flow("merge_bad", merge={"log": "append"})
    assert str(err.value) == (
        "Flow 'merge_bad': parallel block 'fan' merges shared_state['log'] with 'append', which is not a "
        "strategy. Known strategies: ['extend', 'last', 'sum', 'union', 'update'], or pass a function f(a, b).")
