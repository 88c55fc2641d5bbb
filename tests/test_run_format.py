"""What a format-3 run writes, read back exactly: the start event's two arguments, a step's input
without what the activity knows, and the flow drawn as text. Pure: no server."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from pydantic_core import to_json

from flows import corpus
from refinire import Flow
from refinire.outline import outline
from refinire.wire import WIRE
from refinire.context import Context
from refinire.spec import StepOptions
from workflows.io import FORMAT, WORKFLOW_NAME, FlowResult, FlowRun, StepInput
from workflows.start import pack_spec, read_start, start_args, unpack_spec
from workflows.step_input import fill_in, leave_out, needs_run_fields

FLOWS = {name: value for name, value in vars(corpus).items() if isinstance(value, Flow)}


def wire(value):
    """What Temporal stores: our converter's JSON, read back as plain values."""
    return json.loads(to_json(value, context=WIRE))


@pytest.mark.parametrize("name", sorted(FLOWS))
def test_every_corpus_spec_reads_back_the_same_from_its_compact_form(name):
    spec = FLOWS[name].spec
    assert unpack_spec(wire(pack_spec(spec)), spec.name) == spec
    for defaults in (StepOptions(), StepOptions(local=True), StepOptions(heartbeat_s=3.0)):
        other = spec.model_copy(update={"defaults": defaults}).with_hash()
        assert unpack_spec(wire(pack_spec(other)), spec.name) == other


def test_a_chain_of_function_steps_is_written_as_its_step_names():
    spec = corpus.corpus_function.spec
    assert pack_spec(spec) == {"steps": {"upper": {}, "exclaim": {}, "count": {"call": "ctx"}}}


def test_the_start_event_holds_the_input_first_and_reads_back_as_the_run():
    flow = corpus.corpus_function
    ctx = Context(trace_id=f"{flow.durable_name}_20261130_1", shared_state={"k": 1})
    run = FlowRun(flow_name=flow.durable_name, spec=flow.spec, input={"text": "hi"}, context=ctx,
                  format=FORMAT, search_attributes=True, code="tests.flows.corpus:corpus_function")
    args = wire(start_args(run))
    assert args[0] == {"text": "hi"}  # what the UI's Input panel opens on
    assert args[1]["trace"] == "20261130_1" and "flow_name" not in args[1]
    assert args[1]["format"] == FORMAT == 4  # only format 3, the first written so, goes unwritten
    back = read_start(args, flow.durable_name)
    back.search_attributes = True  # the workflow reads it from the run's search attributes
    assert back == run


def test_runs_started_before_format_3_read_as_they_were_written():
    run = FlowRun(flow_name="f", spec=corpus.corpus_function.spec, input=3, format=2)
    assert read_start([wire(run)], WORKFLOW_NAME) == run


def step(ctx: Context, **kw) -> StepInput:
    return StepInput(flow_name="f", step_key="work", context=ctx, **kw)


@pytest.mark.parametrize("activity_id,branch,current,count", [
    ("work#3", None, "work", 2),          # the usual step: everything derived
    ("work#3", None, "Work it", 2),       # a name that is not the key is sent
    ("work#3", None, "work", 7),          # a count a step changed is sent
    ("work/b#4", "b", "work", 3),         # a parallel branch: the block's key, the branch's name
])
def test_a_step_input_reads_back_exactly_as_the_workflow_had_it(activity_id, branch, current, count):
    start = datetime(2026, 11, 30, 7, 0, 0)
    ctx = Context(result={"x": 1}, trace_id="f_1", start_time=start, current_step=current, step_count=count)
    full = step(ctx, branch=branch)
    sent = StepInput.model_validate(wire(leave_out(full, activity_id, "f", ("f_1", start))))
    assert needs_run_fields(sent)
    assert fill_in(sent, activity_id, "f", ("f_1", start)) == full
    assert wire(full)["flow_name"] == "f"  # the workflow's own copy is untouched


def test_a_trace_id_a_step_changed_travels_with_the_step():
    start = datetime(2026, 11, 30, 7, 0, 0)
    full = step(Context(trace_id="mine", start_time=start, current_step="work", step_count=0))
    sent = StepInput.model_validate(wire(leave_out(full, "work#1", "f", ("f_1", start))))
    assert not needs_run_fields(sent)
    assert fill_in(sent, "work#1", "f") == full


def test_an_input_for_another_workflow_type_is_sent_whole():
    full = step(Context(trace_id="t", current_step="work"))
    assert leave_out(full, "work#1", "RefinireFlow", ("t", full.context.start_time)) is full


def test_a_format_3_result_opens_on_the_output_and_reads_back_whole():
    start = datetime(2026, 11, 30, 7, 0, 0)
    result = FlowResult(output="done", path=["a", "b"], format=3, context=Context(start_time=start))
    written = wire(result)
    assert written == {"output": "done", "path": ["a", "b"], "format": 3}
    back = FlowResult.model_validate(written).complete(("f_1", start))
    assert (back.context.trace_id, back.context.start_time, back.context.step_count,
            back.context.finished, back.spans_from_path) == ("f_1", start, 2, True, True)


def test_the_guides_condition_flow_is_drawn_as_lines_of_text():
    from examples.guide_basics import condition_flow

    assert outline(condition_flow.spec) == (
        "set_age → age_check: True → adult · False → minor\nadult → END\nminor → END")
    assert "▶ age_check" in outline(condition_flow.spec, current="age_check")
