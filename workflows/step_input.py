"""A step's input without what the activity can tell by itself (format 3).

Every step's input is stored in the history, once per step: the flow's name, the step's key, the
step's name and the step count would be written thousands of times in a long run, and the activity
knows them already. ``activity.info()`` has the workflow type (the flow's name, format 3) and the
activity id (``<key>#<visit>`` or ``<block>/<branch>#<visit>``, ``workflows.flow_workflow``).
``leave_out`` drops a value only when ``fill_in`` gives exactly it back, so nothing a step reads
changes. An input with a ``flow_name`` (runs of formats 1 and 2) is taken as it is.

Pure: no Temporal, no I/O; the workflow and the step activity pass in what they know.
"""

from __future__ import annotations

from .io import StepInput

__all__ = ["fill_in", "leave_out"]


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


def leave_out(inp: StepInput, activity_id: str, workflow_type: str) -> StepInput:
    """``inp`` without the values the activity reads from its own info (a copy; ``inp`` is kept)."""
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
    update["context"] = ctx.model_copy(update=ctx_update)
    return inp.model_copy(update=update)


def fill_in(inp: StepInput, activity_id: str, workflow_type: str) -> StepInput:
    """``inp`` as the workflow had it before ``leave_out`` (in place; returned)."""
    if inp.flow_name:
        return inp
    head, visit = _split(activity_id)
    inp.flow_name = workflow_type
    if not inp.step_key:
        inp.step_key = _key_of(head, inp.branch) or head
    if inp.context.current_step is None:
        inp.context.current_step = inp.step_key
    if inp.steps_done is not None:
        inp.context.step_count = inp.steps_done
    elif visit is not None:
        inp.context.step_count = visit - 1
    return inp
