"""Version 2 of the edited flows: the code deployed while version 1's runs are in flight.

* graph: a new step ``audit`` after ``left`` (runs started on v1 keep v1's graph);
* removed: step ``finish`` is gone (a v1 run that still has to reach it stops, naming it);
* condition: ``check`` now decides False (a v1 run that already decided True must not switch).
"""

from __future__ import annotations

from refinire import ConditionStep, Flow, FunctionStep
from reliability.flows_crash import HEARTBEAT_S, held, quick
from reliability.flows_edit_v1 import NAMES, always


def never(ctx) -> bool:
    return False


graph_flow = Flow(start="intro", steps={
    "intro": FunctionStep("intro", quick("intro"), next_step="check"),
    "check": ConditionStep("check", always, "left", "right"),
    "left": FunctionStep("left", held("left"), next_step="audit", heartbeat=HEARTBEAT_S),
    "audit": FunctionStep("audit", quick("audit"), next_step="finish"),
    "right": FunctionStep("right", quick("right"), next_step="finish"),
    "finish": FunctionStep("finish", quick("finish")),
}, name=NAMES[0])

removed_flow = Flow(start="intro", steps={
    "intro": FunctionStep("intro", quick("intro"), next_step="check"),
    "check": ConditionStep("check", always, "left", "right"),
    "left": FunctionStep("left", held("left"), heartbeat=HEARTBEAT_S),
    "right": FunctionStep("right", quick("right")),
}, name=NAMES[1])

condition_flow = Flow(start="intro", steps={
    "intro": FunctionStep("intro", quick("intro"), next_step="check"),
    "check": ConditionStep("check", never, "left", "right"),
    "left": FunctionStep("left", held("left"), next_step="finish", heartbeat=HEARTBEAT_S),
    "right": FunctionStep("right", quick("right"), next_step="finish"),
    "finish": FunctionStep("finish", quick("finish")),
}, name=NAMES[2])
