"""What a run is, as its history tells it: one ``RunRecord`` for a whole run (every Temporal run of
its chain), its activities and, in history order, the marks every view reads (``reader.py`` fills
it). Plain data: the values are decoded JSON, the strings parsed with ``workflows.formats``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from refinire.errors import FlowExecutionError
from refinire.spec import FlowSpec
from workflows.formats import NOT_STEPS, ActivityId, parse_activity_id
from workflows.io import FlowRun

__all__ = ["ActivityRecord", "Mark", "RunRecord"]


@dataclass
class ActivityRecord:
    """One activity of the run (remote or local), all its attempts: only the last is recorded."""

    event_id: int
    activity_id: str
    activity_type: str
    local: bool = False
    summary: str | None = None
    scheduled_at: datetime | None = None
    closed_at: datetime | None = None
    attempt: int = 1
    status: Literal["running", "completed", "failed", "canceled"] = "running"
    input: Any = None
    """The decoded input (plain JSON values); local activities record none."""
    result: Any = None
    failure: str | None = None
    last_failure: str | None = None

    @property
    def is_step(self) -> bool:
        """False for the run's own bookkeeping (describe_flow, checkpoints)."""
        return self.activity_type not in NOT_STEPS

    def where(self, spec: FlowSpec | None = None) -> ActivityId:
        """(step key, branch, visit), read from the id with ``spec``'s keys when there is one."""
        return parse_activity_id(self.activity_id, (lambda h: h in spec.steps) if spec else None)


@dataclass
class Mark:
    """One thing the history says, in history order."""

    kind: Literal["continued", "entered", "scheduled", "closed", "local", "decision"]
    event_id: int
    at: datetime
    activity: ActivityRecord | None = None
    step: str | None = None
    """``entered``: the step's name (older runs marked each step); ``decision``: the step key."""
    decision: dict[str, Any] | None = None
    """``{"value": label, "to": target}``."""
    run: FlowRun | None = None
    """``continued``: the input of the chain's next Temporal run."""


@dataclass
class RunRecord:
    """A whole run (every Temporal run of its chain), decoded."""

    run_id: str
    run: FlowRun | None = None
    """The input of the chain's first Temporal run: flow name, spec, input, context."""
    spec: FlowSpec | None = None
    """The graph the run started with (its input, else the worker's answer to describe_flow)."""
    temporal_run_id: str = ""
    status: str = "Running"
    started_at: datetime | None = None
    closed_at: datetime | None = None
    result: Any = None
    """The ``FlowResult`` of a completed run, as plain JSON values."""
    failure: str | None = None
    """A failed run's failure (``Type: message``); ``terminated: reason`` for a terminated one."""
    failure_details: dict[str, Any] = field(default_factory=dict)
    """What the workflow attached to its failure: ``step``, ``step_key``, ``cause_type``, ..."""
    failure_trace: str = ""
    """A failed run's stack trace: the failed step's user frames (runs of format 3), else ``""``."""
    continuations: int = 0
    marks: list[Mark] = field(default_factory=list)
    stuck: str | None = None
    """Why a running run cannot move: its last workflow task failed and none completed since (a
    worker that cannot decode a run it replays, nondeterminism, a bug in workflow code)."""
    unreadable: str | None = None
    """Why the first payload that could not be decoded could not (a sealed run read without its key)."""

    @property
    def flow_name(self) -> str:
        return self.run.flow_name if self.run is not None else ""

    @property
    def closed(self) -> bool:
        return self.status != "Running"

    def step_key(self, name_or_key: str | None) -> str | None:
        """Users name steps by key or by their display name; both are accepted."""
        if name_or_key is None or self.spec is None or name_or_key in self.spec.steps:
            return name_or_key
        return next((k for k, s in self.spec.steps.items() if s.name == name_or_key), None)

    @property
    def failed_step(self) -> str | None:
        """The step key a failed run failed at: named by the failure, else its last step."""
        if self.status != "Failed":
            return None
        named = self.failure_details.get("step_key") or self.failure_details.get("step")
        if named:
            return self.step_key(named) or named
        for m in reversed(self.marks):
            if m.kind in ("scheduled", "local") and m.activity is not None and m.activity.is_step:
                return m.activity.where(self.spec).key
            if m.kind in ("decision", "continued"):
                break
        return None

    def require_run(self) -> FlowRun:
        """The run's input; raises when the history is not a Refinire run's."""
        if self.run is None and self.unreadable:
            raise FlowExecutionError(
                f"Cannot read run {self.run_id!r}: its input does not decode ({self.unreadable}). A run "
                "sealed at rest reads only with the key it was written with: set REFINIRE_PAYLOAD_KEY "
                "to that key.")
        if self.run is None:
            raise FlowExecutionError(
                f"Run {self.run_id!r} has no input a Refinire flow wrote, so it is not a Refinire run. "
                "`refinire-flow runs` lists Refinire runs.")
        return self.run

    def waited_at(self, mark: Mark) -> str | None:
        """The key of the ``UserInputStep`` an ``entered`` mark says the run waited at (it runs no
        activity: its wait is the only sign it was reached), else ``None``."""
        if mark.kind != "entered" or self.spec is None:
            return None
        key = self.step_key(mark.step)
        step = self.spec.steps.get(key) if key is not None else None
        return key if step is not None and step.kind == "user_input" else None

    def reached(self) -> list[str]:
        """Step keys the run reached, each once, in the order it first reached them."""
        seen: list[str] = []
        for m in self.marks:
            key = m.activity.where(self.spec).key if m.activity is not None and m.kind != "closed" \
                and m.activity.is_step else m.step if m.kind == "decision" else self.waited_at(m)
            if key is not None and key not in seen:
                seen.append(key)
        return seen
