"""A step's input without what the activity can tell by itself (format 3).

Every step's input is stored in the history, once per step: the flow's name, the step's key, the
step's name, the step count, the trace id and the run's start time would be written thousands of
times in a long run, and the activity knows them already or can read them once:

* ``activity.info()`` has the workflow type (the flow's name, format 3) and the activity id
  (``<key>#<visit>`` or ``<block>/<branch>#<visit>``, ``workflows.flow_workflow``);
* the trace id and start time (``RUN_FIELDS``) are in the run's start event. The workflow notes
  them in ``RUN_FIELDS_SEEN`` when it starts, in the worker process that runs it; a step activity
  in that process reads them there, any other reads the start event once (``activities.steps``).
  The note is a hint, never a decision: the workflow's path does not depend on it.

``leave_out`` drops a value only when ``fill_in`` gives exactly it back, so nothing a step reads
changes: a step that changed the trace id gets it sent (``own_run_fields``). An input with a
``flow_name`` (runs of formats 1 and 2) is taken as it is.

No Temporal, no I/O: the workflow and the step activity pass in what they know.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from typing import Any

from .io import StepInput

__all__ = ["RUN_FIELDS_SEEN", "RunFields", "fill_in", "leave_out", "needs_run_fields"]

RunFields = tuple[Any, datetime]
"""``(trace_id, start_time)`` of a Temporal run, as its start event holds them."""


class _Seen(OrderedDict):
    """The run fields of the runs this process interprets, by (workflow id, run id); bounded."""

    LIMIT = 10_000

    def note(self, workflow_id: str, run_id: str, fields: RunFields) -> None:
        self[(workflow_id, run_id)] = fields
        self.move_to_end((workflow_id, run_id))
        while len(self) > self.LIMIT:
            self.popitem(last=False)


RUN_FIELDS_SEEN = _Seen()


def _split(activity_id: str) -> tuple[str, int | None]:
    head, sep, tail = activity_id.rpartition("#")
    if not sep:
        return activity_id, None
    return head, int(tail) if tail.isdigit() else None


def _key_of(head: str, branch: str | None) -> str | None:
    if branch is None:
        return head
    suffix = "/" + branch
    return head[: -len(suffix)] if head.endswith(suffix) else None


def leave_out(inp: StepInput, activity_id: str, workflow_type: str, run_fields: RunFields) -> StepInput:
    """``inp`` without the values the activity reads from its own info or from the run's start
    event, whose run fields are ``run_fields`` (a copy; ``inp`` is kept)."""
    head, visit = _split(activity_id)
    ctx = inp.context
    update: dict = {}
    ctx_update: dict = {}
    if inp.flow_name == workflow_type:
        update["flow_name"] = ""
    else:
        return inp  # the activity could not tell the flow: send everything, as format 2 did
    if _key_of(head, inp.branch) == inp.step_key:
        update["step_key"] = ""
    if ctx.current_step == inp.step_key:
        ctx_update["current_step"] = None
    if visit is not None and ctx.step_count == visit - 1:
        ctx_update["step_count"] = 0
    else:
        update["steps_done"] = ctx.step_count
        ctx_update["step_count"] = 0
    if (ctx.trace_id, ctx.start_time) != run_fields:
        update["own_run_fields"] = True
    update["context"] = ctx.model_copy(update=ctx_update)
    return inp.model_copy(update=update)


def needs_run_fields(inp: StepInput) -> bool:
    """Whether ``fill_in`` needs the run's fields (the input left them out)."""
    return not inp.flow_name and not inp.own_run_fields


def fill_in(inp: StepInput, activity_id: str, workflow_type: str,
            run_fields: RunFields | None = None) -> StepInput:
    """``inp`` as the workflow had it before ``leave_out`` (in place; returned). ``run_fields``:
    the run's, when ``needs_run_fields``."""
    if inp.flow_name:
        return inp
    if not inp.own_run_fields:
        assert run_fields is not None, "the run's trace id and start time are needed"
        inp.context.trace_id, inp.context.start_time = run_fields
    inp.own_run_fields = False
    head, visit = _split(activity_id)
    inp.flow_name = workflow_type
    if not inp.step_key:
        inp.step_key = _key_of(head, inp.branch) or head
    if inp.context.current_step is None:
        inp.context.current_step = inp.step_key
    if inp.steps_done is not None:
        inp.context.step_count, inp.steps_done = inp.steps_done, None
    elif visit is not None:
        inp.context.step_count = visit - 1
    return inp
