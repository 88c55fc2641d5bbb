"""What one run did, as read back from Temporal's event history (``client.history.trace.load_trace``).

Plain pydantic so that ``show()`` can draw a run without importing Temporal, and so that the CLI
and tests can print or compare it. Every field comes from the history; none from process memory.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from .spec import FlowSpec

__all__ = ["ActivityTrace", "Decision", "RunTrace", "StepRun"]

StepStatus = Literal["completed", "retried", "failed", "running", "canceled"]


class Decision(BaseModel):
    """A branch decision recorded by the workflow as a memo upsert ``decision:<step>``."""

    step: str
    value: str
    """``True``/``False``, a route key, or ``error: <Type>`` for the error handler."""
    to: str | None = None
    """The step the run went to; ``None`` means the flow ended there."""
    at: datetime | None = None

    def line(self) -> str:
        return f"{self.step} → {self.to if self.to is not None else 'END'} ({self.value})"


class ActivityTrace(BaseModel):
    """One activity (all its attempts: only the last attempt is in the history)."""

    activity_id: str
    activity_type: str
    summary: str | None = None
    local: bool = False
    scheduled_at: datetime | None = None
    closed_at: datetime | None = None
    attempt: int = 1
    status: StepStatus = "running"
    last_failure: str | None = None
    """The failure before the last attempt (``Type: message``), when there was a retry."""
    failure: str | None = None
    """The final failure, when the activity failed for good."""
    score: float | None = None
    usage: dict[str, int] | None = None


class StepRun(BaseModel):
    """One visit of a step (a loop visits a step several times), in the order the run entered it."""

    index: int
    key: str
    name: str
    kind: str
    display: str
    """The step's class as users know it (FunctionStep, ConditionStep, RefinireAgent, ...)."""
    branch: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    attempts: int = 1
    status: StepStatus = "completed"
    last_failure: str | None = None
    error: str | None = None
    decision: Decision | None = None
    score: float | None = None
    """The last evaluation score of an agent step (``scores`` has every one, in order)."""
    scores: list[float] = Field(default_factory=list)
    usage: dict[str, int] | None = None
    activities: list[ActivityTrace] = Field(default_factory=list)
    branches: list["StepRun"] = Field(default_factory=list)
    in_workflow: bool = False
    """Ran inside the workflow (a condition): no activity, only its decision is in the history."""

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return max(0.0, (self.ended_at - self.started_at).total_seconds())


class RunTrace(BaseModel):
    run_id: str
    """The workflow id: what ``flow.run`` returns as ``run_id`` and what the CLI takes."""
    temporal_run_id: str = ""
    flow_name: str = ""
    spec: FlowSpec | None = None
    """The graph the run started with (from its input), not the code as it is now."""
    status: str = "Running"
    started_at: datetime | None = None
    closed_at: datetime | None = None
    error: str | None = None
    failed_step: str | None = None
    error_trace: str = ""
    """Where the failed step's code raised: its traceback, the user's frames only (``""`` if none)."""
    steps: list[StepRun] = Field(default_factory=list)
    output: Any = None
    continuations: int = 0
    """How many times the run continued as new (its chain has this many Temporal runs, plus one)."""

    @property
    def decisions(self) -> list[Decision]:
        return [s.decision for s in self.steps if s.decision is not None]

    @property
    def path(self) -> list[str]:
        return [s.key for s in self.steps]
