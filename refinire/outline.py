"""A flow drawn as a few lines of text, small enough to ride in a run's start event and plain enough
to read in any Markdown viewer (the Temporal UI's summary and details panes render Markdown, not
Mermaid): a chain of steps on one line, a branch's targets after it.

    s1 → s2 → s3 → END
    age_check: True → adult · False → minor
    adult → END

``current`` marks where a run is (``▶ s2``). Pure: it reads a ``FlowSpec`` only.
"""

from __future__ import annotations

from .spec import END as FLOW_END
from .memo import Memo
from .spec import ConditionSpec, FlowSpec, ParallelSpec, RouterSpec, StepSpec

__all__ = ["drawn", "labelled_targets", "outline"]

END = "END"


def labelled_targets(step: StepSpec) -> list[tuple[str | None, str | None]]:
    """(label, target) for every edge leaving a step; target ``None`` is the end of the flow."""
    if isinstance(step, ConditionSpec):
        if step.routes is not None:
            return [(k, _end(v)) for k, v in step.routes.items()]
        return [("True", _end(step.if_true)), ("False", _end(step.if_false))]
    if isinstance(step, RouterSpec):
        return [(k, _end(v)) for k, v in step.routes.items()]
    return [(None, _end(step.next))] if step.next else []


def _end(target: str | None) -> str | None:
    return None if target in (None, FLOW_END) else target


def _edges(spec: FlowSpec, key: str) -> list[tuple[str | None, str | None]]:
    return labelled_targets(spec.steps[key])


def outline(spec: FlowSpec, current: str | None = None) -> str:
    """The drawing of ``spec`` (see the module docstring); ``current`` is a step key to mark."""
    incoming: dict[str, int] = {k: 0 for k in spec.steps}
    for key in spec.steps:
        for _, target in _edges(spec, key):
            if target in incoming:
                incoming[target] += 1

    def name(key: str) -> str:
        step = spec.steps[key]
        text = key if step.name == key else f"{key} [{step.name}]"
        if isinstance(step, ParallelSpec):
            text += " ∥ (" + ", ".join(b.name for b in step.branches) + ")"
        return f"▶ {text}" if key == current else text

    lines: list[str] = []
    placed: set[str] = set()
    for first in dict.fromkeys([spec.start, *spec.steps]):
        if first in placed:
            continue
        chain = [first]
        placed.add(first)
        while True:
            edges = _edges(spec, chain[-1])
            if len(edges) != 1 or edges[0][0] is not None:
                break
            nxt = edges[0][1]
            if nxt is None or nxt in placed or incoming.get(nxt, 0) != 1 or nxt == spec.start:
                break
            chain.append(nxt)
            placed.add(nxt)
        edges = _edges(spec, chain[-1])
        line = " → ".join(name(k) for k in chain)
        if not edges:
            line += f" → {END}"
        elif len(edges) == 1 and edges[0][0] is None:
            line += f" → {edges[0][1] or END}"
        else:
            line += ": " + " · ".join(f"{label} → {target or END}" for label, target in edges)
        lines.append(line)
    return "\n".join(lines)


_DRAWN: Memo[str] = Memo(4096)


def drawn(spec: FlowSpec, current: str | None = None) -> str:
    """``outline(spec, current)``, drawn once per process for a hashed spec: every run of a flow
    shows the same drawings, and drawing one costs time in the number of steps."""
    if not spec.content_hash:
        return outline(spec, current)
    return _DRAWN.get((spec.name, spec.content_hash, current), lambda: outline(spec, current))
