"""Layer 1: building and compiling flows, no server needed."""

from __future__ import annotations

import pytest

from refinire import (
    ClarifyAgent,
    ConditionStep,
    Context,
    Flow,
    FlowDefinitionError,
    FlowSpec,
    FunctionStep,
    HistoryBudget,
    RefinireAgent,
    RetrySpec,
    RouterAgent,
)


def f(data, ctx):
    return data


def test_dict_form_starts_at_first_key_and_applies_implicit_successor():
    flow = Flow({
        "set_age": FunctionStep("set_age", f),
        "age_check": ConditionStep("age_check", lambda ctx: True, "adult", "minor"),
        "adult": FunctionStep("adult", f),
        "minor": FunctionStep("minor", f),
    })
    spec = flow.spec
    assert spec.start == "set_age"
    assert spec.steps["set_age"].next == "age_check"
    assert spec.steps["adult"].next is None  # "minor" is a branch target, never an implicit successor
    assert spec.steps["minor"].next is None
    assert flow.get_possible_routes("age_check") == ["adult", "minor"]


def test_router_targets_are_skipped_by_the_implicit_rule():
    router = RouterAgent({"name": "r", "routes": {"a": "tech", "b": "biz"}})
    flow = Flow({
        "pre": FunctionStep("pre", f),
        "route": router,
        "tech": FunctionStep("tech", f),
        "biz": FunctionStep("biz", f),
        "post": FunctionStep("post", f),
    })
    spec = flow.spec
    assert spec.steps["pre"].next == "route"
    assert spec.steps["tech"].next == "post"
    assert spec.steps["biz"].next == "post"


def test_explicit_start_form_and_missing_start():
    flow = Flow(start="b", steps={"a": FunctionStep("a", f), "b": FunctionStep("b", f)})
    assert flow.spec.start == "b"
    with pytest.raises(FlowDefinitionError, match="start parameter is required when steps is a dictionary"):
        Flow(steps={"a": FunctionStep("a", f)})
    with pytest.raises(ValueError):  # FlowDefinitionError is a ValueError, as in Refinire
        Flow(steps={"a": FunctionStep("a", f)})


def test_list_form_sets_next_step_on_the_step_objects():
    s1, s2, s3 = FunctionStep("s1", f), FunctionStep("s2", f), FunctionStep("s3", f, next_step="s1")
    flow = Flow(steps=[s1, s2, s3])
    assert (s1.next_step, s2.next_step, s3.next_step) == ("s2", "s3", "s1")
    assert flow.steps == [s1, s2, s3]
    assert flow.spec.start == "s1"


def test_single_step_form_including_an_agent_needs_no_api_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    flow = Flow(steps=RefinireAgent(name="assistant", generation_instructions="x", model="gpt-4o-mini"))
    assert list(flow.spec.steps) == ["assistant"]
    assert flow.spec.steps["assistant"].kind == "agent"


def test_refinire_defaults_before_a_run():
    flow = Flow({"a": FunctionStep("a", f)}, name="demo")
    assert flow.context.next_label == flow.next_step_name == "a"
    assert flow.current_step_name is None
    assert not flow.finished
    assert flow.max_steps == 1000
    assert flow.trace_id.startswith("demo_")
    assert Flow({"a": FunctionStep("a", f)}).trace_id.startswith("flow_")
    assert Flow({"a": FunctionStep("a", f)}, trace_id="mine").trace_id == "mine"


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: Flow({}), "has no steps"),
        (lambda: Flow(steps=[]), "empty"),
        (lambda: Flow(steps=[FunctionStep("a", f), "nope"]), r"steps\[1\] is a str"),
        (lambda: Flow({"a": FunctionStep("a", f, next_step="nowhere")}), "unknown step 'nowhere'"),
        (lambda: Flow({"a": 42}), "step 'a' is a int, not a step"),
        (lambda: Flow({"c": ConditionStep("c", lambda ctx: 1, "x", "c")}), "unknown step 'x'"),
        (lambda: Flow({"p": {"parallel": "nope"}}), "non-empty list of steps"),
        (lambda: Flow({"p": {"parallel": [FunctionStep("x", f), FunctionStep("x", f)]}}), "two branches named 'x'"),
        (lambda: Flow({"p": {"parallel": [FunctionStep("x", f)], "workers": 2}}), "unknown keys"),
        (lambda: Flow({"p": {"parallel": [FunctionStep("x", f)], "max_workers": 0}}), "max_workers=0"),
        (lambda: Flow({"a": FunctionStep("a", lambda: 1)}), "wrong number of parameters"),
        (lambda: Flow({"a": FunctionStep("a", lambda a, b, c: 1)}), "wrong number of parameters"),
        (lambda: Flow(steps=[FunctionStep("a", f), FunctionStep("a", f)]), "repeats the step name 'a'"),
    ],
)
def test_bad_definitions_fail_at_construction_naming_the_culprit(build, message):
    with pytest.raises(FlowDefinitionError, match=message):
        build()


def test_unknown_target_lists_known_steps():
    with pytest.raises(FlowDefinitionError) as err:
        Flow(start="analyze", steps={
            "analyze": FunctionStep("analyze", f, next_step="check"),
            "check": ConditionStep("check", lambda ctx: True, "complx", "analyze"),
        })
    assert str(err.value) == "Flow: step 'check' routes to unknown step 'complx'. Known steps: ['analyze', 'check']"


def test_signature_detection_counts_required_positional_parameters():
    flow = Flow(steps=[
        FunctionStep("two", lambda d, c: 1),
        FunctionStep("one", lambda ctx: 1),
        FunctionStep("defaulted", lambda d, c, i=3: i),
    ])
    kinds = {k: s.call for k, s in flow.spec.steps.items()}
    assert kinds == {"two": "data_ctx", "one": "ctx", "defaulted": "data_ctx"}


def test_spec_is_frozen_hashed_and_round_trips_through_json():
    flow = Flow({
        "a": FunctionStep("a", f),
        "p": {"parallel": [FunctionStep("x", f), RefinireAgent(name="y", model="m")], "next_step": "c"},
        "c": ConditionStep("c", lambda ctx: "k", {"k": "a", "default": "a"}),
    })
    spec = flow.spec
    again = FlowSpec.model_validate_json(spec.model_dump_json())
    assert again == spec
    assert len(spec.content_hash) == 16
    assert spec.steps["p"].branches[1].kind == "agent"
    with pytest.raises(Exception):
        spec.start = "c"  # type: ignore[misc]


def test_same_code_gives_the_same_durable_name_and_edits_change_the_hash():
    a = Flow({"a": FunctionStep("a", f)})
    b = Flow({"a": FunctionStep("a", f)})
    c = Flow({"a": FunctionStep("a", f), "b": FunctionStep("b", f)})
    assert a.durable_name == b.durable_name
    assert a.spec.content_hash != c.spec.content_hash


def test_context_is_strict_and_round_trips():
    ctx = Context()
    ctx.add_user_message("hi")
    assert ctx.last_user_input == "hi"
    with pytest.raises(ValueError):
        ctx.not_a_field = 1  # type: ignore[attr-defined]
    ctx.result = "text"
    assert ctx.content == "text"
    assert Context.from_dict(ctx.as_dict()) == ctx


async def test_direct_run_async_behaves_like_refinire():
    def boom(data, ctx):
        raise ValueError("bad")

    step = FunctionStep("s", boom, next_step="t")
    ctx = await step.run_async("in", Context())
    assert ctx.messages[-1].content.startswith("Function execution error in s: bad")
    assert ctx.next_label == "t"
    cond = ConditionStep("c", lambda ctx: 1 / 0, "yes", "no")
    ctx = await cond.run_async(None, Context())
    assert ctx.next_label == "no"


def test_retry_spec_names_a_wrong_argument_and_its_spelling():
    with pytest.raises(FlowDefinitionError) as err:
        RetrySpec(maximum_attempts=2)
    assert str(err.value) == (
        "RetrySpec has no argument 'maximum_attempts'. Use max_attempts=2. Known arguments: "
        "['max_attempts', 'initial_interval_s', 'backoff', 'max_interval_s', 'non_retryable_error_types'].")
    with pytest.raises(FlowDefinitionError) as err:
        RetrySpec(max_attempts="three")
    assert str(err.value).startswith("RetrySpec: max_attempts='three': Input should be a valid integer")
    with pytest.raises(FlowDefinitionError) as err:
        HistoryBudget(max_event=3)
    assert str(err.value) == ("HistoryBudget has no argument 'max_event'. Remove it or fix its spelling. "
                              "Known arguments: ['max_events', 'max_bytes'].")
    assert RetrySpec.model_validate({"max_attempts": 4}) == RetrySpec(max_attempts=4)  # runs read them back


def test_a_bad_timeout_or_retry_is_refused_when_the_flow_is_built():
    """Temporal would refuse them when it schedules the step, leaving the run stuck."""
    with pytest.raises(FlowDefinitionError) as err:
        FunctionStep("a", f, step_timeout=-5)
    assert str(err.value) == ("A step's options: step_timeout=-5: Input should be greater than 0. "
                              "Known arguments: ['retry', 'step_timeout', 'heartbeat', 'local'].")
    with pytest.raises(FlowDefinitionError, match=r"^RetrySpec: max_attempts=-1: Input should be greater than or equal to 0"):
        FunctionStep("a", f, retry=-1)
    with pytest.raises(FlowDefinitionError, match=r"^A step's options: step_timeout=-1:"):
        Flow({"a": FunctionStep("a", f)}, step_timeout=-1)
    with pytest.raises(FlowDefinitionError, match=r"^RetrySpec: backoff=0.5: Input should be greater than or equal to 1"):
        RetrySpec(backoff=0.5)
    assert FunctionStep("a", f, step_timeout="10").options.start_to_close_s == 10.0


def test_a_positional_list_of_steps_is_a_sequence():
    flow = Flow([FunctionStep("a", f), FunctionStep("b", f)])
    assert flow.spec.start == "a" and list(flow.spec.steps) == ["a", "b"] and flow.spec.steps["a"].next == "b"
    assert flow.spec.content_hash == Flow(steps=[FunctionStep("a", f), FunctionStep("b", f)]).spec.content_hash


RESERVED = ("'/' and '#' are reserved in step names (Temporal activity ids are <step>#<visit>, "
            "<block>/<branch>#<visit>); rename it, e.g. ")


@pytest.mark.parametrize("build, message", [
    (lambda: Flow({"a/b#1": FunctionStep("a", f)}, name="x"),
     f"Flow 'x': step 'a/b#1' contains '/': {RESERVED}'a_b_1'."),
    (lambda: Flow([FunctionStep("c#2", f)]),
     f"Flow: step 'c#2' contains '#': {RESERVED}'c_2'."),
    (lambda: Flow({"p": {"parallel": [FunctionStep("ok", f), FunctionStep("x/y", f)]}}, name="fan"),
     f"Flow 'fan': parallel block 'p' branch 'x/y' contains '/': {RESERVED}'x_y'."),
    (lambda: Flow({"p#": {"parallel": [FunctionStep("ok", f)]}}, name="fan"),
     f"Flow 'fan': step 'p#' contains '#': {RESERVED}'p_'."),
])
def test_a_slash_or_hash_in_a_step_or_branch_name_is_refused_at_build_time(build, message):
    """History ids are <key>#<visit> and <block>/<branch>#<visit>: `show` and `rerun --from` would misread them."""
    with pytest.raises(FlowDefinitionError) as err:
        build()
    assert str(err.value) == message


def test_a_dot_stays_allowed_in_step_names():
    flow = Flow({"v1.2": FunctionStep("v1.2", f), "p": {"parallel": [FunctionStep("b.1", f)]}})
    assert list(flow.spec.steps) == ["v1.2", "p"]


NO_LIMIT = ("retry=0 would retry the step without limit (Temporal reads 0 attempts as no limit), not "
            "'no retries'. retry=1 is a single attempt; for no limit use RetrySpec(max_attempts=0).")


@pytest.mark.parametrize("build, who", [
    (lambda: FunctionStep("charge", f, retry=0), "FunctionStep 'charge'"),
    (lambda: RefinireAgent("gen", "say hi", retry=0), "RefinireAgent 'gen'"),
    (lambda: RouterAgent({"name": "r", "routes": {"a": "tech"}, "retry": 0}), "RouterAgent 'r'"),
    (lambda: ClarifyAgent("ask", "what do you need?", retry=0), "ClarifyAgent 'ask'"),
    (lambda: Flow({"a": FunctionStep("a", f)}, name="x", retry=0), "Flow 'x'"),
    (lambda: Flow({"a": FunctionStep("a", f)}, retry=0), "Flow"),
])
def test_retry_zero_is_refused_because_temporal_reads_it_as_no_limit(build, who, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(FlowDefinitionError) as err:
        build()
    assert str(err.value) == f"{who}: {NO_LIMIT}"


def test_retry_one_and_an_explicit_no_limit_spec_are_kept():
    assert FunctionStep("a", f, retry=1).options.retry == RetrySpec(max_attempts=1)
    assert FunctionStep("a", f, retry=RetrySpec(max_attempts=0)).options.retry.max_attempts == 0
    flow = Flow({"a": FunctionStep("a", f)}, retry=RetrySpec(max_attempts=0))
    assert flow.spec.defaults.retry.max_attempts == 0
