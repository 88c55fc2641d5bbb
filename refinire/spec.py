"""The compiled flow: the only thing that crosses from the Python DSL into Temporal.

A ``FlowSpec`` holds names, never callables. It travels inside every run's input, so a run's
history pins the exact graph it started with; editing a flow never changes the path of a run
that is already in flight. Callables are found on the worker by (flow name, step key).
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Literal, Union

from pydantic import ConfigDict, Field
from pydantic_core import to_json

from .wire import WireModel

END = "_FLOW_END_"
"""A routing target that ends the flow (``Flow.END``)."""

MERGE_STRATEGIES = ("extend", "sum", "union", "update", "last")
"""How a parallel block combines a ``shared_state`` key changed by several branches: ``extend``
(lists: every branch's appended items, in declaration order), ``sum`` (numbers: every branch's
increment), ``union`` (sets), ``update`` (dicts, later branches win per key), ``last`` (the last
branch in declaration order wins)."""

__all__ = [
    "END",
    "MERGE_STRATEGIES",
    "AgentSpec",
    "BranchSpec",
    "ClarifySpec",
    "ConditionSpec",
    "CustomSpec",
    "FlowSpec",
    "FunctionSpec",
    "HistoryBudget",
    "ParallelSpec",
    "RetrySpec",
    "RouterSpec",
    "StepOptions",
    "StepSpec",
    "UserInputSpec",
]


class _Frozen(WireModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RetrySpec(_Frozen):
    """Temporal retry policy for one step. The default gives up after a few attempts, never loops."""

    max_attempts: int = 3
    initial_interval_s: float = 0.5
    backoff: float = 2.0
    max_interval_s: float = 30.0
    non_retryable_error_types: tuple[str, ...] = ()


class HistoryBudget(_Frozen):
    """When a long run continues as new (a fresh Temporal run of the same workflow id).

    A run always continues as new when Temporal suggests it (about 4,000 events or 4 MB by default);
    these lower the bar. Continuing happens only between steps, never inside a parallel block or
    while a step waits for an answer.
    """

    max_events: int | None = None
    """Continue as new once a run's history has this many events."""
    max_bytes: int | None = None
    """Continue as new once a run's history is this many bytes."""


class StepOptions(_Frozen):
    retry: RetrySpec | None = None
    start_to_close_s: float | None = None
    heartbeat_s: float | None = None
    local: bool | None = None


class _StepBase(_Frozen):
    key: str
    """The routing label: the key of the step in the flow's dict."""
    name: str
    """The step's own name: what users see in histories and the UI."""
    next: str | None = None
    """Resolved successor (explicit ``next_step`` or the implicit rule); ``None`` ends the flow."""
    options: StepOptions = StepOptions()


class FunctionSpec(_StepBase):
    kind: Literal["function"] = "function"
    call: Literal["data_ctx", "ctx"] = "data_ctx"
    explicit_next: bool = False


class CustomSpec(_StepBase):
    """A user ``Step`` subclass: its ``run_async`` runs in an activity and may route with goto/finish."""

    kind: Literal["custom"] = "custom"
    class_name: str


class ConditionSpec(_StepBase):
    kind: Literal["condition"] = "condition"
    if_true: str | None = None
    if_false: str | None = None
    routes: dict[str, str] | None = None
    """Route-dict form: the condition returns a key of this dict."""


class AgentSpec(_StepBase):
    kind: Literal["agent"] = "agent"
    model: str = "gpt-4o-mini"
    generation_instructions: str = ""
    evaluation_instructions: str | None = None
    threshold: float = 85.0
    max_retries: int = 3
    temperature: float | None = None
    max_tokens: int | None = None
    timeout_s: float | None = None


class RouterSpec(_StepBase):
    kind: Literal["router"] = "router"
    routes: dict[str, str]
    classifier_type: Literal["llm", "rule"] = "llm"
    generation_instructions: str = ""
    model: str = "gpt-4o-mini"
    default_route: str | None = None
    temperature: float | None = None
    timeout_s: float | None = None


class ClarifySpec(_StepBase):
    kind: Literal["clarify"] = "clarify"
    generation_instructions: str = ""
    clarification_instructions: str = ""
    threshold: float = 80.0
    model: str = "gpt-4o-mini"
    wait_for_answer: bool = False
    answer_timeout_s: float | None = None
    temperature: float | None = None
    timeout_s: float | None = None


class UserInputSpec(_StepBase):
    """Pauses the run until someone answers through a Temporal Update."""

    kind: Literal["user_input"] = "user_input"
    prompt: str = ""
    answer_timeout_s: float | None = None


BranchSpec = Annotated[Union[FunctionSpec, CustomSpec, AgentSpec], Field(discriminator="kind")]


class ParallelSpec(_StepBase):
    kind: Literal["parallel"] = "parallel"
    branches: tuple[BranchSpec, ...]
    max_workers: int
    merge: dict[str, str] = {}
    """How to combine a ``shared_state`` key that several branches change: ``extend``, ``sum``,
    ``union``, ``update`` (dicts), ``last`` (declaration order), or ``callable`` (the block's
    own function, looked up by key on the worker)."""


StepSpec = Annotated[
    Union[
        FunctionSpec,
        CustomSpec,
        ConditionSpec,
        ParallelSpec,
        AgentSpec,
        RouterSpec,
        ClarifySpec,
        UserInputSpec,
    ],
    Field(discriminator="kind"),
]


class FlowSpec(_Frozen):
    name: str
    start: str
    steps: dict[str, StepSpec]
    """In declaration order; that order is what ``show()`` draws and the implicit rule follows."""
    max_steps: int = 1000
    has_error_handler: bool = False
    defaults: StepOptions = StepOptions()
    history_budget: HistoryBudget | None = None
    content_hash: str = ""

    def with_hash(self) -> "FlowSpec":
        # Fields added after release are left out while unset, so existing flows keep their names.
        body = self.model_copy(update={"content_hash": ""}).model_dump(mode="json")
        if body.get("history_budget") is None:
            body.pop("history_budget", None)
        for step in body["steps"].values():
            if step.get("kind") == "parallel" and not step.get("merge"):
                step.pop("merge", None)
        digest = hashlib.sha256(to_json(body)).hexdigest()[:16]
        return self.model_copy(update={"content_hash": digest})

    def step(self, key: str) -> StepSpec:
        return self.steps[key]

    def targets(self, key: str) -> list[str]:
        """Every step key this step can hand over to, in a stable order."""
        step = self.steps[key]
        out: list[str] = []
        if isinstance(step, ConditionSpec):
            if step.routes is not None:
                out.extend(step.routes.values())
            else:
                out.extend(t for t in (step.if_true, step.if_false) if t)
        elif isinstance(step, RouterSpec):
            out.extend(step.routes.values())
        elif step.next:
            out.append(step.next)
        return list(dict.fromkeys(out))
