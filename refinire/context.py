"""The run's context: what every step sees, and what travels between the workflow and its activities.

It is a pydantic model so that it crosses Temporal's boundary as plain JSON; an attribute that is not
declared cannot be set, which catches typos in step code early.

It has the whole surface of Refinire's ``Context`` (messages with metadata and timestamps, the error
fields, spans, the awaiting-user-input fields, ``as_dict``/``from_dict``). Two facts differ because
a run is durable: inside a durable run the workflow, not the step, counts steps and records spans
(``update_step_info`` called from a step running as an activity only sets ``current_step``), and
times are taken from the workflow's clock when code runs inside the workflow.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field, PrivateAttr

from .wire import WireModel

__all__ = ["Context", "Message"]

TERMINAL_LABELS = ("_FLOW_END_", "_FLOW_TERMINATE_", "_FLOW_FINISH_")
"""Routing labels that end a flow (``Flow.END``, ``Flow.TERMINATE``, ``Flow.FINISH``)."""

_ROLE_LABELS = {"user": "👤", "assistant": "🤖", "system": "⚙️"}


def _now() -> datetime:
    """Wall-clock time, or the workflow's deterministic time when called inside a workflow."""
    wf = sys.modules.get("temporalio.workflow")
    if wf is not None and wf.in_workflow():
        return wf.now()
    return datetime.now()


def _in_activity() -> bool:
    act = sys.modules.get("temporalio.activity")
    return bool(act is not None and act.in_activity())


class Message(WireModel):
    """One message of the conversation: ``role`` (user, assistant, system), ``content``,
    ``timestamp`` and free ``metadata``."""

    role: str
    content: str
    metadata: dict[str, Any] = Field(default_factory=dict)
    timestamp: datetime = Field(default_factory=_now)


class Context(WireModel):
    """What every step, condition and error handler of a run sees: data, shared state, messages.

    One context per run, carried between the workflow and its activities as plain JSON, so what a
    step stores keeps its type (JSON types, tuples, sets, bytes, datetimes, Decimal, UUID, Enum,
    paths, pydantic models, dataclasses; anything else fails the step, naming the value's path).
    It is a pydantic model: setting an attribute it does not declare raises, which catches typos.
    Conditions and error handlers get it inside the workflow: they may write ``shared_state``.

    Args:
        **data: Any of the fields below (all have defaults).

    Example:
        def count(data, ctx):
            ctx.shared_state["seen"] = ctx.shared_state.get("seen", 0) + 1
            ctx.add_assistant_message(f"seen {ctx.shared_state['seen']} times")
            return data  # the step's output: the next step's data and ctx.result
    """

    model_config = ConfigDict(validate_assignment=False)

    result: Any = None
    """The last step's output (before the first step: the run's input); the next step's data."""
    shared_state: dict[str, Any] = Field(default_factory=dict)
    """State every step of the run shares; keeps the types stored in it."""
    messages: list[Message] = Field(default_factory=list)
    """The conversation: user, assistant and system messages, in order."""
    last_user_input: str | None = None
    """The last user message's text (a text run input is the first)."""
    trace_id: str | None = None
    """The flow's trace id (see ``Flow(trace_id=)``)."""
    current_step: str | None = None
    """The name of the step that runs (or ran last)."""
    next_label: str | None = None
    """The key of the step that runs next; ``None`` or an ending label ends the flow."""
    step_count: int = 0
    """Steps executed so far in the run (counted by the workflow)."""
    finished: bool = False
    """Whether the flow has ended (see ``is_finished``)."""
    evaluation_result: dict[str, Any] | None = None
    """The last ``RefinireAgent`` evaluation: ``score`` (0-100), ``passed``, ``feedback``, ..."""
    routing_result: dict[str, Any] | None = None
    """The last ``RouterAgent`` decision: ``classification``, ``next_step``, ``matched_by``, ..."""
    clarification_result: dict[str, Any] | None = None
    """The last ``ClarifyAgent`` judgement: ``is_clear``, ``clarification_question``, ``score``, ..."""
    span_history: list[dict[str, Any]] = Field(default_factory=list)
    """One entry per executed step (``step_name``, ``status``, start and end times)."""
    usage: list[dict[str, Any]] = Field(default_factory=list)
    """Token usage of every model call (step, kind, model, ``prompt_tokens``, ``completion_tokens``,
    ``total_tokens``); ``total_usage`` sums it."""
    # Refinire's remaining fields -----------------------------------------------------------
    error: dict[str, Any] | None = None
    """Set by ``set_error``: ``step``, ``message``, ``type``, ``timestamp`` and any extra keys."""
    awaiting_prompt: str | None = None
    """The question a step waits on (Refinire's in-process interactive flows)."""
    awaiting_user_input: bool = False
    """Whether a step waits for the user (Refinire's in-process interactive flows)."""
    current_span_id: str | None = None
    """The open span's id (Refinire's tracing)."""
    start_time: datetime = Field(default_factory=_now)
    """When the context was made (the workflow's clock inside a run)."""

    _user_input_event: asyncio.Event | None = PrivateAttr(default=None)
    _awaiting_prompt_event: asyncio.Event | None = PrivateAttr(default=None)

    # Refinire-style messages ---------------------------------------------------------------
    def add_user_message(self, content: Any, metadata: dict[str, Any] | None = None) -> None:
        """Append a user message; it also becomes ``last_user_input``. ``None`` becomes ``""``."""
        text = "" if content is None else str(content)
        self.messages.append(Message(role="user", content=text, metadata=metadata or {}))
        self.last_user_input = text

    def add_assistant_message(self, content: Any, metadata: dict[str, Any] | None = None) -> None:
        """Append an assistant message (``content`` as text) with optional ``metadata``."""
        self.messages.append(Message(role="assistant", content=str(content), metadata=metadata or {}))

    def add_system_message(self, content: Any, metadata: dict[str, Any] | None = None) -> None:
        """Append a system message (``content`` as text) with optional ``metadata``."""
        self.messages.append(Message(role="system", content=str(content), metadata=metadata or {}))

    def get_last_messages(self, n: int = 10) -> list[Message]:
        """The last ``n`` messages (a new list)."""
        return self.messages[-n:] if n > 0 else []

    def get_conversation_text(self, include_system: bool = False) -> str:
        """The conversation as lines ``"<role icon> <content>"``; system messages only if asked."""
        return "\n".join(f"{_ROLE_LABELS.get(m.role, m.role)} {m.content}" for m in self.messages
                         if include_system or m.role != "system")

    # Routing from inside a step ------------------------------------------------------------
    def goto(self, label: str) -> None:
        """Route from inside a step: the flow continues with the step whose key is ``label``.

        Args:
            label: A step key of the flow (or ``Flow.END`` to end it). An unknown key fails the
                run with a message naming it and the known steps.
        """
        self.next_label = label
        self.finished = False

    def finish(self) -> None:
        """End the flow after this step."""
        self.next_label = None
        self.finished = True

    def is_finished(self) -> bool:
        """Refinire's rule: finished unless a next step is set (an ending label counts as none)."""
        return self.finished or self.next_label is None or self.next_label in TERMINAL_LABELS

    # Interactive input (Refinire's in-process style) ---------------------------------------
    def clear_prompt(self) -> str | None:
        """Return the prompt waiting for the user, if any, and clear it."""
        prompt, self.awaiting_prompt = self.awaiting_prompt, None
        if self._awaiting_prompt_event is not None:
            self._awaiting_prompt_event.clear()
        return prompt

    def signal_prompt(self) -> None:
        """Wake ``wait_for_prompt_event``: a step has just set ``awaiting_prompt``."""
        if self._awaiting_prompt_event is not None:
            self._awaiting_prompt_event.set()

    async def wait_for_prompt_event(self) -> str:
        """Wait until a step sets a prompt (``awaiting_prompt``); returns it."""
        if self.awaiting_prompt:
            return self.awaiting_prompt
        if self._awaiting_prompt_event is None:
            self._awaiting_prompt_event = asyncio.Event()
        await self._awaiting_prompt_event.wait()
        return self.awaiting_prompt or ""

    # Results -----------------------------------------------------------------------------
    @property
    def content(self) -> Any:
        """``result`` when it is a ``str``, ``result.content`` when it has one; otherwise the last
        system message that reports an error (``"[Error] ..."``), else ``None``."""
        if isinstance(self.result, str):
            return self.result
        if self.result is not None and hasattr(self.result, "content"):
            return self.result.content
        for message in reversed(self.messages):
            if message.role == "system" and "error" in message.content.lower():
                return f"[Error] {message.content}"
        return None

    @content.setter
    def content(self, value: Any) -> None:
        if self.result is not None and not isinstance(self.result, str) and hasattr(self.result, "content"):
            self.result.content = value
        else:
            self.result = value

    @property
    def success(self) -> bool:
        """A result, no error, a passed evaluation (if any) and no ``"error"`` route."""
        if self.result is None or self.error is not None:
            return False
        if self.evaluation_result and not self.evaluation_result.get("passed", True):
            return False
        return not (self.routing_result and self.routing_result.get("next_route") == "error")

    @property
    def metadata(self) -> dict[str, Any]:
        """Refinire's alias: the evaluation result, or ``{}``."""
        return self.evaluation_result or {}

    @property
    def artifacts(self) -> dict[str, Any]:
        """``shared_state["artifacts"]``, or ``{}``."""
        return self.shared_state.get("artifacts", {})

    @property
    def total_usage(self) -> dict[str, int]:
        """Token usage summed over every model call of the run."""
        totals = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        for entry in self.usage:
            for key in totals:
                totals[key] += int(entry.get(key) or 0)
        return totals

    # Errors ------------------------------------------------------------------------------
    def set_error(self, step: str, error: BaseException, **kwargs: Any) -> None:
        """Record a failure: ``{"step", "message", "type", "timestamp", **kwargs}``."""
        self.error = {"step": step, "message": str(error), "type": type(error).__name__,
                      "timestamp": _now(), **kwargs}

    def clear_error(self) -> None:
        """Forget the recorded failure."""
        self.error = None

    def has_error(self) -> bool:
        """Whether a failure is recorded (``error`` is set)."""
        return self.error is not None

    # Steps and spans ---------------------------------------------------------------------
    def update_step_info(self, step_name: str) -> None:
        """A step starts: close the previous span, count the step, open a span for it.

        Inside a durable run (the step runs as a Temporal activity) only ``current_step`` is set:
        the workflow counts steps and records their spans, once, whatever the step does.
        """
        self.current_step = step_name
        if _in_activity():
            return
        if self.current_span_id:
            self._finalize_current_span()
        self.step_count += 1
        self.current_span_id = f"{step_name}_{self.step_count:03d}_{_now():%Y%m%d_%H%M%S_%f}"
        self.span_history.append({
            "span_id": self.current_span_id, "step_name": step_name, "trace_id": self.trace_id,
            "start_time": _now(), "end_time": None, "status": "started",
            "step_index": self.step_count, "metadata": {},
        })

    def _finalize_current_span(self, status: str = "completed", error: str | None = None) -> None:
        if not self.span_history:
            return
        span = self.span_history[-1]
        if span.get("span_id") == self.current_span_id:
            span["end_time"] = _now()
            span["status"] = status
            if error:
                span["error"] = error

    def finalize_flow_span(self) -> None:
        """Close the open span, if any (a flow that ends)."""
        if self.current_span_id:
            self._finalize_current_span()
            self.current_span_id = None

    def get_current_span_info(self) -> dict[str, Any] | None:
        """The open span's entry of ``span_history``; ``None`` when none is open."""
        if self.current_span_id and self.span_history:
            return self.span_history[-1]
        return None

    def get_span_history(self) -> list[dict[str, Any]]:
        """``span_history`` as a new list."""
        return list(self.span_history)

    def get_trace_summary(self) -> dict[str, Any]:
        """Counts of spans by status, the total duration (seconds) and whether the flow finished."""
        starts = [t for t in (_as_time(s.get("start_time")) for s in self.span_history) if t]
        ends = [t for t in (_as_time(s.get("end_time")) for s in self.span_history) if t]
        duration = (max(ends) - min(starts)).total_seconds() if starts and ends else None
        status = [s.get("status") for s in self.span_history]
        return {
            "trace_id": self.trace_id,
            "current_span_id": self.current_span_id,
            "total_spans": len(self.span_history),
            "completed_spans": status.count("completed"),
            "active_spans": status.count("started"),
            "error_spans": status.count("error"),
            "total_duration_seconds": duration,
            "flow_start_time": self.start_time,
            "is_finished": self.is_finished(),
        }

    # Dicts (LangChain LCEL style) --------------------------------------------------------
    def as_dict(self) -> dict[str, Any]:
        """The fields as a dict, with the messages under ``history`` (role, content, metadata,
        timestamp), as Refinire gives it."""
        data = self.model_dump()
        data.pop("messages", None)
        data["history"] = [{"role": m.role, "content": m.content, "metadata": m.metadata,
                            "timestamp": m.timestamp} for m in self.messages]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Context":
        """The inverse of ``as_dict`` (also takes ``messages``, or ``as_dict``'s ``history``)."""
        data = dict(data)
        if "history" in data:
            data["messages"] = [m for m in data.pop("history") if isinstance(m, dict)]
        return cls.model_validate(data)


def _as_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None

