"""What an activity is, in the flow's words: the flow, the step's name and its kind (console
tracing and OpenTelemetry spans name attempts with it)."""

from __future__ import annotations

from typing import Any

from temporalio import activity

from refinire import registry
from workflows.formats import parse_activity_id

__all__ = ["step_label"]


def step_label(info: activity.Info, arg: Any) -> tuple[str, str, str]:
    """(flow, step, kind) for an activity: flow from the task queue, step from the activity id."""
    flow = getattr(arg, "flow_name", None) or info.task_queue.removeprefix("refinire.")
    key, branch, _ = parse_activity_id(info.activity_id)
    registered = registry.get(flow)
    spec = registered.spec.steps.get(key) if registered is not None else None
    kind = spec.kind if spec is not None else info.activity_type
    name = spec.name if spec is not None else key
    if branch:
        name = f"{name}/{branch}"
    return flow, name, kind
