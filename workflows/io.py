"""The models that cross Temporal's boundary: one pydantic model in, one out, for every call."""

from __future__ import annotations

from typing import Any

from pydantic import Field, SerializationInfo

from refinire.wire import WireModel
from refinire.context import Context
from refinire.spec import FlowSpec

from .delta import ContextDelta, Views

RUN_FIELDS = ("trace_id", "start_time")
"""Context fields that hold for a whole run: format 3 sends them to a step only when they changed."""

TASK_QUEUE_PREFIX = "refinire."
WORKFLOW_NAME = "RefinireFlow"
FORMAT = 4
"""What a run started now records. 1: every activity carried the whole context both ways, parallel
writes merged last-writer-wins, no continue-as-new. 2: activities carry what the step reads and
return what it changed (``ContextDelta``), parallel writes merge as diffs, long runs continue as
new. 3: the workflow type is the flow's name and the start event holds ``[input, settings]``
(``workflows.start``); a step's input leaves out what the activity reads from ``activity.info()``
(flow name, step key) or its id (visit count); the run's failure carries the step's traceback.
4: ``FlowStatus`` marks only what Temporal's execution status cannot say (``workflows.search``): it is
not set at the start, a resumed wait unsets it, and a completed run upserts nothing.
Runs keep the format they started with, so recorded histories replay unchanged."""


def task_queue_for(flow_name: str) -> str:
    """One task queue per flow: a run is only ever picked up by a worker that knows its flow."""
    return TASK_QUEUE_PREFIX + flow_name


class FlowRun(WireModel):
    """A run's input. The spec rides along so the history pins the graph the run started with.
    Format 3 writes it as two workflow arguments (``workflows.start``)."""

    flow_name: str = ""
    spec: FlowSpec | None = None
    """``None`` when started by name from a client without the code: the worker's spec is pinned."""
    input: Any = None
    context: Context = Field(default_factory=Context)
    start_at: str | None = None
    """Rerun: begin at this step key instead of the spec's start."""
    rerun_of: str | None = None
    search_attributes: bool = False
    """Whether the server knows our search attributes, so upserting them cannot fail the run."""
    format: int = 1
    """The run's recording format (see ``FORMAT``); absent in runs started before it existed."""
    views: Views | None = None
    """Values ``context`` holds twice, sent once (see ``workflows.delta``)."""
    visits: int = 0
    """Steps already run by earlier runs of this chain (continue-as-new): ``max_steps`` and the
    activity ids keep counting across the whole run."""
    continuation: int = 0
    """How many times this run has continued as new before this Temporal run."""
    code: str | None = None
    """``module:variable`` of the flow's code where the run was started, so the CLI finds the code
    of a flow with an explicit ``name=`` (rerun, replay) without being told the module."""


class FlowResult(WireModel):
    output: Any = None
    context: Context = Field(default_factory=Context)
    path: list[str] = Field(default_factory=list)
    """Step keys in the order they ran (in the last Temporal run of a chain)."""
    views: Views | None = None
    spans_from_path: bool = False
    """``context.span_history`` is left out: it is ``path`` with each step's name (``spans``)."""
    continuation: int = 0
    """Continuations before the run that finished: when > 0, ``context.span_history`` and
    ``context.usage`` cover only that last run; readers rebuild the rest from the chain's history."""
    format: int = 0
    """3: written by a format-3 run, which leaves out what a reader knows (``complete``): the span
    history is the path's, ``context.finished`` is true, a ``context.step_count`` of 0 in a run
    that never continued is the path's length, and the run fields are the start event's unless
    ``own_run_fields``."""
    own_run_fields: bool = False

    def _on_wire(self, data: Any, info: SerializationInfo) -> Any:
        data = super()._on_wire(data, info)
        if isinstance(data, dict) and self.format >= 3 and not self.own_run_fields \
                and (info.context or {}).get("refinire_wire") and isinstance(data.get("context"), dict):
            for name in RUN_FIELDS:
                data["context"].pop(name, None)
            if not data["context"]:
                del data["context"]  # read back as a fresh Context
        return data

    def complete(self, run_fields: tuple[Any, Any] | None) -> "FlowResult":
        """Put back what a format-3 result leaves out (in place; returned). ``run_fields``: the
        ``(trace_id, start_time)`` of the last run's start event, when ``needs_run_fields``."""
        if self.format < 3:
            return self
        self.spans_from_path = True
        self.context.finished = True
        if self.context.step_count == 0 and self.continuation == 0:
            self.context.step_count = len(self.path)
        if not self.own_run_fields and run_fields is not None:
            self.context.trace_id, self.context.start_time = run_fields
        return self

    @property
    def needs_run_fields(self) -> bool:
        return self.format >= 3 and not self.own_run_fields


def spans(path: list[str], spec: FlowSpec | None) -> list[dict[str, Any]]:
    """The ``span_history`` of a run that went along ``path`` (step keys)."""
    names = {k: s.name for k, s in spec.steps.items()} if spec is not None else {}
    return [{"step_name": names.get(k, k), "key": k, "status": "completed"} for k in path]


class StepInput(WireModel):
    """The step's data is ``context.result``: it travels once, inside the context.

    Format 3 leaves out what the activity can tell by itself (``workflows.step_input``): an empty
    ``flow_name`` is the workflow type, an empty ``step_key`` is the activity id's, an absent
    ``context.current_step`` is the step key and ``context.step_count`` is ``steps_done``, or
    the visit in the activity id minus one when that is absent too."""

    flow_name: str = ""
    step_key: str = ""
    branch: str | None = None
    context: Context
    views: Views | None = None
    steps_done: int | None = None
    """Format 3: ``context.step_count`` when it is not the visit number minus one."""
    own_run_fields: bool = False
    """Format 3: ``context.trace_id`` and ``context.start_time`` are written only when this is set
    (they differ from the run's start event); otherwise the activity takes the run's
    (``workflows.step_input.RunFields``)."""

    def _on_wire(self, data: Any, info: SerializationInfo) -> Any:
        data = super()._on_wire(data, info)
        if isinstance(data, dict) and not self.flow_name and not self.own_run_fields \
                and (info.context or {}).get("refinire_wire") and isinstance(data.get("context"), dict):
            for name in RUN_FIELDS:
                data["context"].pop(name, None)
        return data


class StepOutput(WireModel):
    """What the step changed (format 2: ``delta``) or the whole context after it (format 1 workers),
    and any routing it asked for."""

    context: Context | None = None
    delta: ContextDelta | None = None
    usage: list[dict[str, Any]] = Field(default_factory=list)
    """Model calls an agent branch of a parallel block made (workflow side only)."""
    size: int = 0
    """Bytes of this output as JSON, measured by the activity (local steps are batched by size)."""
    route: str | None = None
    """A custom step's ``ctx.goto(key)``."""
    finished: bool = False
    """A custom step's ``ctx.finish()``."""


class Checkpoint(WireModel):
    """``refinire.checkpoint``'s input and output: the visit after which a run of local steps
    closed its workflow task."""

    visit: int = 0


class DescribeFlowInput(WireModel):
    flow_name: str


class DescribeFlowOutput(WireModel):
    spec: FlowSpec
