"""Version 1 of three flows that the edit test changes while their runs are in flight.

intro -> check (always True) -> left (held) -> finish; the False branch is ``right``.
"""

from __future__ import annotations

from refinire import ConditionStep, Flow, FunctionStep
from reliability.flows_crash import HEARTBEAT_S, held, quick

NAMES = ("rel-edit-graph", "rel-edit-removed", "rel-edit-condition")


def always(ctx) -> bool:
    return True


def version1(name: str) -> Flow:
    return Flow(start="intro", steps={
        "intro": FunctionStep("intro", quick("intro"), next_step="check"),
        "check": ConditionStep("check", always, "left", "right"),
        "left": FunctionStep("left", held("left"), next_step="finish", heartbeat=HEARTBEAT_S),
        "right": FunctionStep("right", quick("right"), next_step="finish"),
        "finish": FunctionStep("finish", quick("finish")),
    }, name=name)


graph_flow, removed_flow, condition_flow = (version1(n) for n in NAMES)
