"""Refinire's Context surface, in-process: the same results as Refinire's documented behaviour."""

from __future__ import annotations

from datetime import datetime

import pydantic
import pytest

from refinire import Context, LLMResult, Message


def test_messages_carry_metadata_and_timestamps():
    ctx = Context()
    ctx.add_user_message("hello", {"source": "cli"})
    ctx.add_assistant_message("hi there", metadata={"step": "greet"})
    ctx.add_system_message("note")
    assert ctx.last_user_input == "hello"
    assert [m.role for m in ctx.messages] == ["user", "assistant", "system"]
    assert ctx.messages[0].metadata == {"source": "cli"} and isinstance(ctx.messages[0].timestamp, datetime)
    assert isinstance(ctx.messages[0], Message)
    ctx.add_user_message(None)
    assert ctx.last_user_input == "" and ctx.messages[-1].content == ""


def test_get_last_messages_and_conversation_text():
    ctx = Context()
    for i in range(12):
        ctx.add_user_message(f"m{i}")
    assert [m.content for m in ctx.get_last_messages(3)] == ["m9", "m10", "m11"]
    assert len(ctx.get_last_messages()) == 10
    short = Context()
    short.add_user_message("q")
    short.add_assistant_message("a")
    short.add_system_message("s")
    assert short.get_conversation_text() == "👤 q\n🤖 a"
    assert short.get_conversation_text(include_system=True) == "👤 q\n🤖 a\n⚙️ s"


def test_routing_and_finished_follow_refinire():
    ctx = Context()
    assert ctx.is_finished()  # no next step: finished, as in Refinire
    ctx.goto("b")
    assert not ctx.is_finished() and ctx.next_label == "b"
    ctx.goto("_FLOW_END_")
    assert ctx.is_finished()
    ctx.goto("c")
    ctx.finish()
    assert ctx.is_finished() and ctx.next_label is None


def test_prompt_fields_and_clear_prompt():
    ctx = Context()
    assert ctx.awaiting_prompt is None and ctx.awaiting_user_input is False
    ctx.awaiting_prompt = "Your name?"
    assert ctx.clear_prompt() == "Your name?"
    assert ctx.clear_prompt() is None


async def test_wait_for_prompt_event_returns_a_prompt_already_set():
    ctx = Context(awaiting_prompt="Age?")
    assert await ctx.wait_for_prompt_event() == "Age?"


def test_error_fields_and_helpers():
    ctx = Context()
    assert not ctx.has_error()
    ctx.set_error("parse", ValueError("bad number"), attempt=2)
    assert ctx.has_error()
    assert ctx.error["step"] == "parse" and ctx.error["message"] == "bad number"
    assert ctx.error["type"] == "ValueError" and ctx.error["attempt"] == 2
    assert isinstance(ctx.error["timestamp"], datetime)
    ctx.clear_error()
    assert ctx.error is None


def test_update_step_info_spans_and_trace_summary():
    ctx = Context(trace_id="t1")
    ctx.update_step_info("a")
    first = ctx.current_span_id
    assert ctx.current_step == "a" and ctx.step_count == 1 and first.startswith("a_001_")
    assert ctx.get_current_span_info()["status"] == "started"
    ctx.update_step_info("b")
    assert ctx.span_history[0]["status"] == "completed" and ctx.span_history[0]["end_time"] is not None
    ctx.finalize_flow_span()
    assert ctx.current_span_id is None and ctx.get_current_span_info() is None
    summary = ctx.get_trace_summary()
    assert summary["trace_id"] == "t1" and summary["total_spans"] == 2
    assert summary["completed_spans"] == 2 and summary["active_spans"] == 0
    spans = ctx.span_history
    assert summary["total_duration_seconds"] == (spans[-1]["end_time"] - spans[0]["start_time"]).total_seconds()
    assert ctx.get_span_history() == ctx.span_history and ctx.get_span_history() is not ctx.span_history


def test_content_success_metadata_artifacts():
    ctx = Context()
    assert ctx.content is None and ctx.success is False
    ctx.result = "text"
    assert ctx.content == "text" and ctx.success
    ctx.result = LLMResult(content="generated")
    assert ctx.content == "generated"
    ctx.content = "edited"
    assert ctx.result.content == "edited"
    plain = Context()
    plain.content = "set"
    assert plain.result == "set"
    ctx.evaluation_result = {"score": 40, "passed": False}
    assert ctx.metadata == {"score": 40, "passed": False} and not ctx.success
    assert Context().metadata == {} and Context().artifacts == {}
    assert Context(shared_state={"artifacts": {"a": 1}}).artifacts == {"a": 1}
    failed = Context()
    failed.add_system_message("Function execution error in s: boom")
    assert failed.content == "[Error] Function execution error in s: boom"


def test_as_dict_uses_history_and_round_trips():
    ctx = Context(shared_state={"k": [1, 2]}, trace_id="t")
    ctx.add_user_message("hi", {"m": 1})
    ctx.goto("next")
    data = ctx.as_dict()
    assert "messages" not in data
    assert data["history"][0]["role"] == "user" and data["history"][0]["metadata"] == {"m": 1}
    assert data["next_label"] == "next"
    again = Context.from_dict(data)
    assert again == ctx
    refinire_style = Context.from_dict({"history": [{"role": "user", "content": "x"}], "next_label": "b"})
    assert refinire_style.messages[0].content == "x" and refinire_style.next_label == "b"


def test_undeclared_attributes_are_refused_and_it_is_json():
    with pytest.raises((ValueError, AttributeError, pydantic.ValidationError)):
        Context().not_a_field = 1
    ctx = Context()
    ctx.add_user_message("x")
    assert Context.model_validate_json(ctx.model_dump_json()) == ctx
