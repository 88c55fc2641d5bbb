"""Flow's Refinire properties and methods before any run, without a server."""

from __future__ import annotations

import pytest

from refinire import (
    ConditionStep,
    Context,
    Flow,
    FlowDefinitionError,
    FunctionStep,
    RouterAgent,
    RouterConfig,
    TraceRegistry,
    create_conditional_flow,
    create_simple_flow,
    get_global_registry,
    set_global_registry,
)


def f(data, ctx):
    return data


def test_properties_before_a_run():
    flow = Flow({"a": FunctionStep("a", f), "b": FunctionStep("b", f)}, name="surface")
    assert flow.flow_name == "surface" and flow.flow_id == flow.trace_id
    assert flow.trace_id.startswith("surface_")
    assert flow.context.trace_id == flow.trace_id
    assert flow.next_step_name == "a" and flow.current_step_name is None and not flow.finished
    assert flow.get_step_history() == [] and flow.step_history == []
    assert Flow.END == "_FLOW_END_" and Flow.TERMINATE == "_FLOW_TERMINATE_" and Flow.FINISH == "_FLOW_FINISH_"
    assert str(flow) == "Flow(start=a, steps=2, finished=False)"
    assert "surface" in repr(flow)


def test_a_context_given_to_the_flow_gets_its_trace_id_and_start():
    ctx = Context(shared_state={"seed": 1})
    flow = Flow(start="b", steps={"a": FunctionStep("a", f), "b": FunctionStep("b", f)}, context=ctx)
    assert flow.context is ctx and ctx.trace_id == flow.trace_id and ctx.next_label == "b"


def test_flow_summary_has_refinire_keys():
    flow = Flow({"a": FunctionStep("a", f)}, name="summ")
    summary = flow.get_flow_summary()
    for key in ("flow_id", "flow_name", "trace_id", "current_span_id", "start_step", "current_step",
                "next_step", "step_count", "finished", "start_time", "execution_history", "span_history",
                "trace_summary", "artifacts", "message_count"):
        assert key in summary, key
    assert summary["start_step"] == "a" and summary["next_step"] == "a" and summary["finished"] is False


def test_add_hook_types():
    flow = Flow({"a": FunctionStep("a", f)})
    for kind in ("before_step", "after_step", "error"):
        flow.add_hook(kind, lambda *args: None)
    assert len(flow.before_step_hooks) == len(flow.after_step_hooks) == len(flow.error_hooks) == 1
    with pytest.raises(ValueError, match="Unknown hook type: later"):
        flow.add_hook("later", lambda *a: None)


def test_step_runs_one_step_in_process_with_hooks_and_reset():
    seen = []
    flow = Flow({
        "a": FunctionStep("a", lambda d, c: "A"),
        "check": ConditionStep("check", lambda c: c.result == "A", "yes", "no"),
        "yes": FunctionStep("yes", lambda d, c: "Y"),
        "no": FunctionStep("no", lambda d, c: "N"),
    })
    flow.add_hook("before_step", lambda name, ctx: seen.append(("before", name)))
    flow.add_hook("after_step", lambda name, ctx, result: seen.append(("after", name)))
    flow.add_hook("before_step", lambda name, ctx: 1 / 0)  # a hook that raises is ignored
    flow.step()
    assert flow.current_step_name == "a" and flow.next_step_name == "check" and flow.context.result == "A"
    flow.step()
    assert flow.next_step_name == "yes"
    flow.step()
    assert flow.finished and flow.context.result == "Y"
    flow.step()  # finished: nothing happens
    assert [s["step_name"] for s in flow.get_step_history()] == ["a", "check", "yes"]
    assert seen == [("before", "a"), ("after", "a"), ("before", "check"), ("after", "check"),
                    ("before", "yes"), ("after", "yes")]
    flow.reset()
    assert flow.next_step_name == "a" and not flow.finished and flow.get_step_history() == []


def test_stop_without_a_run_finishes_the_context():
    flow = Flow({"a": FunctionStep("a", f)})
    flow.stop()
    assert flow.finished


def test_get_possible_routes():
    flow = Flow({"a": FunctionStep("a", f), "c": ConditionStep("c", lambda ctx: True, "x", "y"),
                 "x": FunctionStep("x", f), "y": FunctionStep("y", f)})
    assert flow.get_possible_routes("c") == ["x", "y"]


def test_create_simple_flow_chains_steps():
    a, b, c = FunctionStep("a", f), FunctionStep("b", f), FunctionStep("c", f)
    flow = create_simple_flow([("first", a), ("second", b), ("third", c)], name="simple-chain")
    assert flow.start == "first" and a.next_step == "second" and b.next_step == "third"
    assert flow.flow_name == "simple-chain"
    with pytest.raises(ValueError, match="At least one step is required"):
        create_simple_flow([])


def test_create_conditional_flow_wires_both_branches():
    cond = ConditionStep("is_big", lambda ctx: True, "placeholder_t", "placeholder_f")
    flow = create_conditional_flow(FunctionStep("init", f), cond, [FunctionStep("t1", f), FunctionStep("t2", f)],
                                   [FunctionStep("f1", f)])
    assert flow.start == "start" and cond.if_true == "true_0" and cond.if_false == "false_0"
    assert flow.get_possible_routes("true_0") == ["true_1"]
    assert flow.spec.steps["true_1"].next == Flow.END and flow.spec.steps["false_0"].next == Flow.END


def test_router_config_validates_and_builds_our_router():
    with pytest.raises(ValueError, match="Routes cannot be empty"):
        RouterConfig(name="r", routes={})
    with pytest.raises(ValueError, match="Default route 'zzz' must exist in routes"):
        RouterConfig(name="r", routes={"a": "x"}, default_route="zzz")
    cfg = RouterConfig(name="r", routes={"tech": "t", "other": "o"}, classification_prompt="Classify it.",
                       classification_examples={"tech": ["my laptop is broken"]}, default_route="other")
    router = RouterAgent(cfg)
    assert router.routes == {"tech": "t", "other": "o"} and router.default_route == "other"
    assert router.generation_instructions.startswith("Classify it.")
    assert "my laptop is broken" in router.generation_instructions


def test_set_global_registry_and_a_flow_registers_its_trace():
    saved = get_global_registry()
    mine = TraceRegistry()
    set_global_registry(mine)
    try:
        assert get_global_registry() is mine
        flow = Flow({"a": FunctionStep("a", f)}, name="registered")
        record = mine.get_trace.__self__.traces[flow.trace_id]
        assert record.flow_name == "registered" and record.status == "running"
        mine.update_trace(flow.trace_id, status="completed", add_tags={"k": 1})
        assert mine.traces[flow.trace_id].status == "completed" and mine.search_by_tags({"k": 1}) == [record]
    finally:
        set_global_registry(saved)


def test_bad_definitions_keep_refinire_catchable_types():
    with pytest.raises(ValueError, match="start parameter is required when steps is a dictionary"):
        Flow(steps={"a": FunctionStep("a", f)})
    with pytest.raises(FlowDefinitionError, match="Steps list cannot be empty"):
        Flow(steps=[])
    with pytest.raises(ValueError, match="Step at index 1 must be a Step instance"):
        Flow(steps=[FunctionStep("a", f), "nope"])
