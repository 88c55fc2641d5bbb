"""Every string a run writes into Temporal's history, written and parsed here and nowhere else.

A run's history outlives the code that wrote it: ``show``, rerun, replay, ``runs`` and the worker's
console lines read these strings back, from runs started by older versions too. So each format has
one writer and one parser, side by side, and changing a format is changing a recorded run (it needs
``workflow.patched`` or a new ``FlowRun.format``; ``tests/test_replay_corpus.py`` says so).

- **Activity ids.** A step's activity is ``<key>#<visit>``; a parallel branch's is
  ``<block key>/<branch name>#<visit>``; an agent's model calls add ``.<call>`` (``write#3.generate``);
  a local-steps checkpoint is ``_checkpoint#<visit>``. The visit counts across a whole run (its
  continue-as-new chain included), so ids never repeat.
- **Memo keys.** ``decision:<step key>`` holds ``{"value": label, "to": target}`` for each branch
  decision; ``run_started``, ``agents``, ``rerun_of``, ``rerun_from`` are written when a run starts.
- **Summaries** the Temporal UI shows: ``<step> · <kind>`` for a step's activity (format 3: ``<step>``), ``<step> · <what>``
  for an agent's call, ``<flow> · input <repr>`` for a run.
- **Search attributes**: ``FlowName``, ``FlowStep``, ``FlowStatus`` (keyword).

Pure functions and constants only: the workflow imports this module inside its sandbox.
"""

from __future__ import annotations

import re
from typing import Any, Callable, NamedTuple

from temporalio.common import SearchAttributeKey

__all__ = [
    "AGENTS_MEMO", "CHECKPOINT_ACTIVITY", "CHECKPOINT_ID", "DECISION_PREFIX", "DESCRIBE_ACTIVITY",
    "FLOW_NAME", "FLOW_STATUS", "FLOW_STEP", "LLM_CLARIFY", "LLM_EVALUATE", "LLM_GENERATE", "LLM_ROUTE",
    "LOCAL_ACTIVITY_MARKER", "NOT_STEPS", "RERUN_FROM_MEMO",
    "RERUN_OF_MEMO", "RUN_STARTED_MEMO", "RUN_STEP_ACTIVITY", "RUN_STEP_ACTIVITY_3", "STEP_ACTIVITIES", "ActivityId", "agent_call_id", "agent_names",
    "agent_call_summary", "branch_label", "checkpoint_id", "decision_memo", "decision_step",
    "parse_activity_id", "rerun_summary", "run_summary", "step_activity_id", "step_summary",
]

# Activity types ---------------------------------------------------------------------------------
RUN_STEP_ACTIVITY = "refinire.run_step"
"""Runs a function or custom step in runs of formats 1 and 2."""
RUN_STEP_ACTIVITY_3 = "run_step"
"""Runs a function or custom step in format 3, whose input leaves out what the activity knows
(``workflows.step_input``); a worker of an earlier version does not know it, so it never misreads
such an input."""
STEP_ACTIVITIES = (RUN_STEP_ACTIVITY, RUN_STEP_ACTIVITY_3)
DESCRIBE_ACTIVITY = "refinire.describe_flow"
"""Asks the worker for a flow's spec when a run was started by name, without it."""
CHECKPOINT_ACTIVITY = "refinire.checkpoint"
"""Closes a batch of local steps' workflow task: not a step."""
NOT_STEPS = (DESCRIBE_ACTIVITY, CHECKPOINT_ACTIVITY)
"""Activity types readers skip: they are the run's own bookkeeping, not steps."""
LLM_GENERATE = "refinire.llm.generate"
LLM_EVALUATE = "refinire.llm.evaluate"
LLM_ROUTE = "refinire.llm.route"
LLM_CLARIFY = "refinire.llm.clarify"
LOCAL_ACTIVITY_MARKER = "core_local_activity"
"""The marker name Temporal's SDK records a local activity's completion under (read, not written)."""

# Activity ids -----------------------------------------------------------------------------------
CHECKPOINT_ID = "_checkpoint"
"""Activity id prefix of a local-steps checkpoint: not a step (readers skip it)."""

_ID = re.compile(r"^(?P<head>.+?)#(?P<visit>\d+)")


class ActivityId(NamedTuple):
    key: str
    branch: str | None
    visit: int | None


def branch_label(key: str, branch: str | None) -> str:
    """``block/branch`` for a parallel branch, the key alone otherwise."""
    return f"{key}/{branch}" if branch else key


def step_activity_id(key: str, visit: int, branch: str | None = None) -> str:
    """A step's activity id: ``key#visit``, or ``block/branch#visit`` for a parallel branch."""
    return f"{branch_label(key, branch)}#{visit}"


def agent_call_id(base: str, call: str) -> str:
    """One model call of an agent step: its step activity id, then ``.call`` (``generate``, ...)."""
    return f"{base}.{call}"


def checkpoint_id(visit: int) -> str:
    return f"{CHECKPOINT_ID}#{visit}"


def parse_activity_id(activity_id: str, is_key: Callable[[str], bool] | None = None) -> ActivityId:
    """(step key, branch, visit) of an activity id; ``visit`` is ``None`` when the id has none.

    ``is_key(head)`` (optional: whether a spec has a step keyed ``head``) keeps a key that itself
    holds a ``/`` whole, and then the last ``/`` splits a branch off; without it, the first does.
    """
    m = _ID.match(activity_id)
    head, visit = (m["head"], int(m["visit"])) if m else (activity_id.rsplit("#", 1)[0], None)
    if "/" not in head or (is_key is not None and is_key(head)):
        return ActivityId(head, None, visit)
    key, _, branch = head.rpartition("/") if is_key is not None else head.partition("/")
    return ActivityId(key, branch or None, visit)


# Memo -------------------------------------------------------------------------------------------
DECISION_PREFIX = "decision:"
RUN_STARTED_MEMO = "run_started"
"""When the run began (ISO 8601, UTC), in its memo: continue-as-new carries the memo over, so the
newest Temporal run of a long chain still knows when the run began (``refinire-flow runs``). Format
3 writes it when the run continues as new (a run's own start time says it until then)."""
AGENTS_MEMO = "agents"
"""The names of the run's agent steps (RefinireAgent, RouterAgent, ClarifyAgent; parallel branches
included), so any process can find a run by agent name. Runs started before it have none."""
AGENT_KINDS = ("agent", "router", "clarify")


def agent_names(spec: Any) -> list[str]:
    """What ``AGENTS_MEMO`` holds for a ``FlowSpec``: its agent steps' names, in declaration order,
    each once (parallel branches included)."""
    names: list[str] = []
    for step in spec.steps.values():
        for s in step.branches if step.kind == "parallel" else (step,):
            if s.kind in AGENT_KINDS:
                names.append(s.name)
    return list(dict.fromkeys(names))


RERUN_OF_MEMO = "rerun_of"
RERUN_FROM_MEMO = "rerun_from"


def decision_memo(step_key: str, label: str, target: str | None) -> dict[str, Any]:
    """The memo upsert of a branch decision: the step, the label it chose and where the run went."""
    return {f"{DECISION_PREFIX}{step_key}": {"value": label, "to": target}}


def decision_step(memo_key: str) -> str | None:
    """The step key of a ``decision:<key>`` memo field; ``None`` for any other field."""
    return memo_key[len(DECISION_PREFIX):] if memo_key.startswith(DECISION_PREFIX) else None


# Summaries --------------------------------------------------------------------------------------
def step_summary(label: str, kind: str, format: int = 2) -> str:
    """A step activity's summary: ``<step> · <kind>`` up to format 2, the step alone in format 3."""
    return label if format >= 3 else f"{label} · {kind}"


def agent_call_summary(label: str, what: str) -> str:
    return f"{label} · {what}"


CHECKPOINT_SUMMARY = "checkpoint · local steps"
CHECKPOINT_TIMER_SUMMARY = "checkpoint of local steps"
"""Runs recorded before the checkpoint activity closed their local steps with a timer."""


def answer_timeout_summary(step_name: str) -> str:
    return f"{step_name} · answer timeout"


def run_summary(flow_name: str, data: Any) -> str:
    text = repr(data)
    return f"{flow_name} · input {text[:120]}{'…' if len(text) > 120 else ''}"


def rerun_summary(flow_name: str, old_run_id: str, step: str) -> str:
    return f"{flow_name} · rerun of {old_run_id} from step {step}"


# Search attributes ------------------------------------------------------------------------------
FLOW_NAME = SearchAttributeKey.for_keyword("FlowName")
FLOW_STEP = SearchAttributeKey.for_keyword("FlowStep")
FLOW_STATUS = SearchAttributeKey.for_keyword("FlowStatus")
