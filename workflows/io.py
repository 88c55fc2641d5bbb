"""The models that cross Temporal's boundary: one pydantic model in, one out, for every call."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from refinire._wire import WireModel
from refinire.context import Context
from refinire.spec import FlowSpec

from .delta import ContextDelta, Views

TASK_QUEUE_PREFIX = "refinire."
WORKFLOW_NAME = "RefinireFlow"
FORMAT = 3
"""What a run started now records. 1: every activity carried the whole context both ways, parallel
writes merged last-writer-wins, no continue-as-new. 2: activities carry what the step reads and
return what it changed (``ContextDelta``), parallel writes merge as diffs, long runs continue as
new. 3: the workflow type is the flow's name and the start event holds ``[input, settings]``
(``workflows.start``); a step's input leaves out what the activity reads from ``activity.info()``
(flow name, step key) or its id (visit count); the run's failure carries the step's traceback.
Runs keep the format they started with, so recorded histories replay unchanged."""


RUN_STARTED_MEMO = "run_started"
"""When the run began (ISO 8601, UTC), in its memo: continue-as-new carries the memo over, so the
newest Temporal run of a long chain still knows when the run began (``refinire-flow runs``). Format
3 writes it when the run first continues as new (a run's own start time says it until then)."""


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
    context: Context
    path: list[str] = Field(default_factory=list)
    """Step keys in the order they ran (in the last Temporal run of a chain)."""
    views: Views | None = None
    spans_from_path: bool = False
    """``context.span_history`` is left out: it is ``path`` with each step's name (``spans``)."""
    continuation: int = 0
    """Continuations before the run that finished: when > 0, ``context.span_history`` and
    ``context.usage`` cover only that last run; readers rebuild the rest from the chain's history."""


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


CHECKPOINT_ID = "_checkpoint"
"""Activity id prefix of a local-steps checkpoint: not a step (readers skip it)."""


class Checkpoint(WireModel):
    """``refinire.checkpoint``'s input and output: the visit after which a run of local steps
    closed its workflow task."""

    visit: int = 0


class DescribeFlowInput(WireModel):
    flow_name: str


class DescribeFlowOutput(WireModel):
    spec: FlowSpec
