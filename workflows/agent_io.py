"""The models that cross the boundary between agent steps (workflow) and the LLM activities.

They carry instructions, inputs and replies, never a key or a secret: the activity reads
``OPENAI_API_KEY`` from the worker's own environment.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from refinire.context import Context

from .delta import Views

STANDALONE_PREFIX = "standalone:"
"""Flows made by ``agent.run_async`` outside any flow: a router may choose a step they lack."""

LLMKind = Literal["generate", "evaluate", "route", "clarify"]


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


class LLMCall(BaseModel):
    """What every model call needs: where it comes from (for errors and the usage ledger) and how."""

    flow_name: str
    step: str
    """The step's name as users see it (``parent/name`` for a parallel branch)."""
    kind: LLMKind
    attempt: int = 1
    """Which generation (or clarification turn) of the step this call belongs to, 1-based."""
    model: str
    temperature: float | None = None
    max_tokens: int | None = None
    timeout_s: float | None = None


class Usage(BaseModel):
    model: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    activity_attempt: int = 1
    """Temporal's attempt number of the activity that made the successful call."""


class GenerateInput(BaseModel):
    call: LLMCall
    instructions: str
    input: str
    previous: str | None = None
    """The generation being improved, when this is a regeneration."""
    feedback: str | None = None
    score: float | None = None


class GenerateOutput(BaseModel):
    text: str
    usage: Usage


class EvaluateInput(BaseModel):
    call: LLMCall
    instructions: str
    input: str
    output: str


class EvaluateOutput(BaseModel):
    score: float
    feedback: str
    usage: Usage


class RouteInput(BaseModel):
    call: LLMCall
    instructions: str
    input: str
    categories: list[str]


class RouteOutput(BaseModel):
    reply: str
    """The model's raw answer; the workflow matches it to a route."""
    usage: Usage


class ClarifyInput(BaseModel):
    call: LLMCall
    generation_instructions: str
    clarification_instructions: str
    input: str
    exchanges: list[dict[str, str]] = Field(default_factory=list)
    """Earlier questions and answers: ``{"question": ..., "answer": ...}``."""


class ClarifyOutput(BaseModel):
    score: float
    clarification_question: str
    reason: str = ""
    usage: Usage


class RuleInput(BaseModel):
    """A rule router's user functions run in an activity: they are user code, possibly with I/O."""

    flow_name: str
    step_key: str
    data: Any = None
    context: Context
    views: Views | None = None


class RuleOutput(BaseModel):
    category: str | None = None
    """The first category whose rule returned true, or ``None``."""
