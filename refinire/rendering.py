"""``flow.show()``: a flow's structure as text or Mermaid, optionally overlaid with one of its runs.

The drawing works from a ``FlowSpec`` alone, so a run is drawn with the graph it started with (its
spec is in the run's input) and the output is the same in every process: children are drawn in
declaration order, never in set or hash order. A run drawn over the graph is ``rendering_run``; both
are pure: ``Flow.show`` has the client read a run from Temporal's history and hands it over.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .outline import labelled_targets
from .spec import FlowSpec, ParallelSpec

__all__ = ["FORMATS", "check_format", "display_name", "mermaid_graph", "render_spec"]

FORMATS = ("text", "mermaid")
END = "END"
FLOW_END = "_FLOW_END_"
_DISPLAY = {
    "function": "FunctionStep",
    "condition": "ConditionStep",
    "agent": "RefinireAgent",
    "router": "RouterAgent",
    "clarify": "ClarifyAgent",
    "user_input": "UserInputStep",
    "parallel": "ParallelStep",
}
_NODE_CLASS = {"condition": "condition", "agent": "agent", "router": "router", "clarify": "agent",
               "user_input": "input"}
_RESERVED = {"end", "graph", "flowchart", "subgraph", "style", "class", "classdef", "click",
             "linkstyle", "default", "direction"}
RULE = "=" * 50


def display_name(step: Any) -> str:
    if step.kind == "custom":
        return step.class_name
    return _DISPLAY.get(step.kind, step.kind)


def check_format(format: str) -> None:
    if format not in FORMATS:
        raise ValueError(f"Unsupported format: {format!r}. Use one of {list(FORMATS)!r}.")


def _label(step: Any) -> str:
    return step.key if step.name == step.key else f"{step.key} [{step.name}]"


# Text -----------------------------------------------------------------------------------------
def _text(spec: FlowSpec) -> list[str]:
    lines = ["Flow Diagram:", RULE]
    shown: set[str] = set()

    def walk(key: str, depth: int) -> None:
        pad = "  " * depth
        if key in shown:
            lines.append(f"{pad}→ {key} (already shown)")
            return
        shown.add(key)
        step = spec.steps[key]
        lines.append(f"{pad}→ {_label(step)} ({display_name(step)})")
        inner = "  " * (depth + 1)
        if isinstance(step, ParallelSpec):
            lines.extend(f"{inner}∥ {_label(b)} ({display_name(b)})" for b in step.branches)
        edges = labelled_targets(step)
        for label, target in edges:
            if label is not None:
                lines.append(f"{inner}{label} → {target if target is not None else END}")
        for target in dict.fromkeys(t for _, t in edges if t is not None):
            walk(target, depth + 1)

    walk(spec.start, 0)
    for key in spec.steps:  # reachable only through the error handler or a custom step's goto
        if key not in shown:
            walk(key, 0)
    return lines


# Mermaid --------------------------------------------------------------------------------------
@dataclass
class MermaidGraph:
    """The structure's lines plus what an overlay needs: node ids and the edges in link order."""

    lines: list[str] = field(default_factory=lambda: ["graph TD"])
    ids: dict[str, str] = field(default_factory=dict)
    edges: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    """(from key, to key or None for END, label), indexed as Mermaid's linkStyle counts them."""
    has_end: bool = False

    def node_id(self, key: str) -> str:
        if key not in self.ids:
            base = re.sub(r"[^A-Za-z0-9_]", "_", key) or "step"
            if base.lower() in _RESERVED or base[0].isdigit():
                base = f"s_{base}"
            candidate, n = base, 1
            taken = set(self.ids.values())
            while candidate in taken:
                n += 1
                candidate = f"{base}_{n}"
            self.ids[key] = candidate
        return self.ids[key]

    def end_id(self) -> str:
        return self.node_id(FLOW_END)

    def edge(self, src: str, dst: str | None, label: str | None, arrow: str = "-->") -> int:
        target = self.node_id(dst) if dst is not None else self.end_id()
        self.has_end = self.has_end or dst is None
        link = f'{arrow}|"{escape(label)}"|' if label is not None else arrow
        self.lines.append(f"    {self.node_id(src)} {link} {target}")
        self.edges.append((src, dst, label))
        return len(self.edges) - 1


def escape(text: str) -> str:
    return (text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;")
            .replace(">", "#gt;"))


def node_label(step: Any) -> str:
    return f"{escape(_label(step))}<br/>({escape(display_name(step))})"


def mermaid_graph(spec: FlowSpec, extra_labels: dict[str, str] | None = None) -> MermaidGraph:
    """``extra_labels`` (node key, or ``block/branch``) → a line appended to that node's label."""
    g = MermaidGraph()
    extra = extra_labels or {}
    for key in spec.steps:
        g.node_id(key)
    for key, step in spec.steps.items():
        nid = g.node_id(key)
        more = f"<br/>{extra[key]}" if key in extra else ""
        if isinstance(step, ParallelSpec):
            g.lines.append(f'    subgraph {nid} ["{node_label(step)}{more}"]')
            for b in step.branches:
                bid = g.node_id(f"{key}/{b.name}")
                bmore = f"<br/>{extra[f'{key}/{b.name}']}" if f"{key}/{b.name}" in extra else ""
                cls = _NODE_CLASS.get(b.kind)
                g.lines.append(f'        {bid}["{node_label(b)}{bmore}"]' + (f":::{cls}" if cls else ""))
            g.lines.append("    end")
        else:
            cls = "start" if key == spec.start else _NODE_CLASS.get(step.kind)
            g.lines.append(f'    {nid}["{node_label(step)}{more}"]' + (f":::{cls}" if cls else ""))
        for label, target in labelled_targets(step):
            g.edge(key, target, label)
    if g.has_end:
        g.lines.append(f'    {g.end_id()}(["{END}"])')
    return g


# Entry points ---------------------------------------------------------------------------------
def render_spec(spec: FlowSpec, format: str = "mermaid") -> str:
    """The structure of a flow, from its spec alone."""
    check_format(format)
    if format == "text":
        return "\n".join(_text(spec))
    return "\n".join(mermaid_graph(spec).lines)
