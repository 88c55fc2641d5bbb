"""Which flows this process can execute, by their durable name.

Workflows and activities look callables up here by (flow name, step key); specs carry only names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .flow import Flow

_FLOWS: dict[str, "Flow"] = {}


def register(name: str, flow: "Flow", *, unique: bool = False) -> str:
    """Register ``flow`` under ``name``; with ``unique``, a name held by another flow gets a suffix."""
    if unique:
        base, n = name, 1
        while _FLOWS.get(name) not in (None, flow):
            n += 1
            name = f"{base}-{n}"
    _FLOWS[name] = flow
    return name


def get(name: str) -> "Flow | None":
    return _FLOWS.get(name)


def known() -> list[str]:
    return sorted(_FLOWS)


def live_step(flow_name: str, key: str, branch: str | None = None) -> Any:
    """The step object this process's code has for (flow, key[, branch]); ``None`` when it has none."""
    flow = _FLOWS.get(flow_name)
    return flow.step_object(key, branch) if flow else None


def not_in_code(flow_name: str, where: str, what: str = "step") -> str:
    """Why a run cannot go on here: it started with a step this worker's code no longer has."""
    return (f"Flow {flow_name!r}: this worker's code has no {what} {where!r}. The run started with "
            "that step; deploy code that has it, or rerun the run from another step. "
            f"Flows this worker knows: {known()!r}")
