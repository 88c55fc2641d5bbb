"""The models that cross Temporal's boundary: one pydantic model in, one out, for every call."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from refinire.context import Context
from refinire.spec import FlowSpec

TASK_QUEUE_PREFIX = "refinire."
WORKFLOW_NAME = "RefinireFlow"


def task_queue_for(flow_name: str) -> str:
    """One task queue per flow: a run is only ever picked up by a worker that knows its flow."""
    return TASK_QUEUE_PREFIX + flow_name


class FlowRun(BaseModel):
    """A run's input. The spec rides along so the history pins the graph the run started with."""

    flow_name: str
    spec: FlowSpec | None = None
    """``None`` when started by name from a client without the code: the worker's spec is pinned."""
    input: Any = None
    context: Context = Field(default_factory=Context)
    start_at: str | None = None
    """Rerun: begin at this step key instead of the spec's start."""
    rerun_of: str | None = None
    search_attributes: bool = False
    """Whether the server knows our search attributes, so upserting them cannot fail the run."""


class FlowResult(BaseModel):
    output: Any = None
    context: Context
    path: list[str] = Field(default_factory=list)
    """Step keys in the order they ran."""


class StepInput(BaseModel):
    """The step's data is ``context.result``: it travels once, inside the context."""

    flow_name: str
    step_key: str
    branch: str | None = None
    context: Context


class StepOutput(BaseModel):
    """The context after the step (its output is ``context.result``) and any routing it asked for."""

    context: Context
    route: str | None = None
    """A custom step's ``ctx.goto(key)``."""
    finished: bool = False
    """A custom step's ``ctx.finish()``."""


class DescribeFlowInput(BaseModel):
    flow_name: str


class DescribeFlowOutput(BaseModel):
    spec: FlowSpec
