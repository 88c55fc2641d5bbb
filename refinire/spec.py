"""The compiled flow: the only thing that crosses from the Python DSL into Temporal.

A ``FlowSpec`` holds names, never callables. It travels inside every run's input, so a run's
history pins the exact graph it started with; editing a flow never changes the path of a run
that is already in flight. Callables are found on the worker by (flow name, step key).
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import ConfigDict, Field, ValidationError
from pydantic_core import to_json

from .errors import FlowDefinitionError
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


class _Options(_Frozen):
    """Options a user builds by hand: a bad keyword or value is a ``FlowDefinitionError`` that
    names the argument, says what is wrong and lists what exists (runs read them back with
    ``model_validate``, which does not come here)."""

    _SPELLINGS: ClassVar[dict[str, str]] = {}
    """Other spellings people reach for (Temporal's ``RetryPolicy``), and ours."""

    _TITLE: ClassVar[str | None] = None
    """What the messages call these options (default: the class name)."""
    _KEYWORDS: ClassVar[dict[str, str]] = {}
    """Fields users set through another keyword (``step_timeout=`` sets ``start_to_close_s``)."""

    @classmethod
    def _keyword(cls, loc: tuple) -> str:
        """The argument a user wrote for an error's field."""
        field = str(loc[0]) if loc else ""
        return ".".join([cls._KEYWORDS.get(field, field), *map(str, loc[1:])])

    def __init__(self, **data: Any) -> None:
        name = self._TITLE or type(self).__name__
        known = [self._KEYWORDS.get(f, f) for f in type(self).model_fields]
        for key in data:
            if key not in type(self).model_fields:
                ours = self._SPELLINGS.get(key)
                fix = f"Use {ours}={data[key]!r}" if ours else "Remove it or fix its spelling"
                raise FlowDefinitionError(
                    f"{name} has no argument {key!r}. {fix}. Known arguments: {known!r}.")
        try:
            super().__init__(**data)
        except ValidationError as err:
            problems = "; ".join(f"{self._keyword(e['loc'])}={e['input']!r}: {e['msg']}"
                                 for e in err.errors())
            raise FlowDefinitionError(f"{name}: {problems}. Known arguments: {known!r}.") from None


class RetrySpec(_Options):
    """Temporal retry policy for one step. The default gives up after a few attempts, never loops.

    Temporal owns retries: a step that raises is attempted again after ``initial_interval_s``, then
    ``backoff`` times longer each time up to ``max_interval_s``, until ``max_attempts``. Then the
    flow's error handler decides, or the run fails with ``FlowExecutionError``. Pass it as
    ``retry=`` to a step, an agent or ``Flow`` (an ``int`` is ``RetrySpec(max_attempts=n)``;
    ``retry=0`` is refused, as Temporal would read it as no limit).

    Example:
        FunctionStep("charge", charge_card,
                     retry=RetrySpec(max_attempts=5, initial_interval_s=1, max_interval_s=60,
                                     non_retryable_error_types=("CardDeclined",)))
    """

    max_attempts: int = Field(default=3, ge=0)
    """Attempts in all, the first included (1: never retried; 0: no limit, Temporal retries until
    the step succeeds: a step that always fails then never ends)."""
    initial_interval_s: float = Field(default=0.5, gt=0)
    """Seconds before the first retry."""
    backoff: float = Field(default=2.0, ge=1)
    """Each later wait is this many times the one before."""
    max_interval_s: float = Field(default=30.0, gt=0)
    """Seconds the wait between attempts never exceeds."""
    non_retryable_error_types: tuple[str, ...] = ()
    """Exception type names (``type(err).__name__``) that fail the step at once, without retries.
    Raising a ``NonRetryableError`` subclass does the same from the step's code."""

    _SPELLINGS: ClassVar[dict[str, str]] = {
        "maximum_attempts": "max_attempts", "initial_interval": "initial_interval_s",
        "backoff_coefficient": "backoff", "maximum_interval": "max_interval_s",
    }


class HistoryBudget(_Options):
    """When a long run continues as new (a fresh Temporal run of the same workflow id).

    A run always continues as new when Temporal suggests it (about 4,000 events or 4 MB by default);
    these lower the bar. Continuing happens only between steps, never inside a parallel block or
    while a step waits for an answer. The run id stays the same, and everything that reads a run
    (``flow.run``, ``show``, ``rerun``, ``replay``) sees one run. Pass it as
    ``Flow(history_budget=...)``.

    Example:
        Flow(steps, history_budget=HistoryBudget(max_events=2_000, max_bytes=1_000_000))
    """

    max_events: int | None = None
    """Continue as new once a run's history has this many events; ``None``: Temporal's bar."""
    max_bytes: int | None = None
    """Continue as new once a run's history is this many bytes; ``None``: Temporal's bar."""


class StepOptions(_Options):
    """A step's Temporal options as compiled (``None``: the flow's default, else ours).

    Set through the step's keywords (``retry=``, ``step_timeout=``, ``heartbeat=``, ``local=``) or
    flow-wide through ``Flow``'s; the step's own win.
    """

    retry: RetrySpec | None = None
    """The retry policy (default: 3 attempts; agents 5)."""
    start_to_close_s: float | None = Field(default=None, gt=0)
    """Seconds one attempt may run (``step_timeout=``; default 600)."""
    heartbeat_s: float | None = Field(default=None, gt=0)
    """Seconds without a heartbeat after which an attempt counts as lost (``heartbeat=``; default 10)."""
    local: bool | None = None
    """Run as a Temporal local activity (``local=``)."""

    _TITLE: ClassVar[str | None] = "A step's options"
    _KEYWORDS: ClassVar[dict[str, str]] = {"start_to_close_s": "step_timeout", "heartbeat_s": "heartbeat"}


class _StepBase(_Frozen):
    key: str
    """The routing label: the key of the step in the flow's dict. Runs in flight find the step's
    code by it: renaming a key breaks the runs that reach that step."""
    name: str
    """The step's own name: what users see in histories and the UI."""
    next: str | None = None
    """Resolved successor (explicit ``next_step`` or the implicit rule); ``None`` ends the flow."""
    options: StepOptions = StepOptions()
    """The step's own Temporal options (``None`` fields take the flow's defaults)."""


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
    """A compiled ``Flow`` (``flow.spec``): the graph and options as data, never callables.

    It is the workflow's input, so each run's history pins the graph the run started with; the
    worker finds the callables by (flow name, step key). Changing its shape for an existing flow
    changes ``content_hash`` (the name of an unnamed flow bound to no variable), so new fields
    are left out of the hash while unset.
    """

    name: str
    """The flow's durable name: its task queue is ``refinire.<name>``. Renaming a flow leaves its
    runs in flight on the old name's queue, served only by a worker that knows the old name."""
    start: str
    """The key of the first step."""
    steps: dict[str, StepSpec]
    """In declaration order; that order is what ``show()`` draws and the implicit rule follows."""
    max_steps: int = 1000
    """Steps a run may take, counted across the whole run (continue-as-new included)."""
    has_error_handler: bool = False
    """Whether the flow's error handler is asked when a step fails for good."""
    defaults: StepOptions = StepOptions()
    """The flow-wide step options (``Flow(retry=, step_timeout=, local=)``)."""
    history_budget: HistoryBudget | None = None
    """When a long run continues as new; ``None``: when Temporal suggests it."""
    content_hash: str = ""
    """A digest of everything above: the same flow gives the same hash in every process."""

    def with_hash(self) -> "FlowSpec":
        """A copy with ``content_hash`` set from its content.

        Returns:
            The same spec, hashed.
        """
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
        """The step with this key (``KeyError`` when there is none)."""
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
