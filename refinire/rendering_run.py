"""A run drawn over its flow's structure: what ran, in which order, how long, how often, and which
way each decision went. Input is a ``RunTrace`` (read from Temporal's history by the client and
handed here), never live state: ``show`` draws, it never fetches.
"""

from __future__ import annotations

from datetime import datetime

from .rendering import RULE, check_format, mermaid_graph, render_spec
from .run_trace import RunTrace, StepRun
from .spec import FlowSpec

CLASS_DEFS = (
    "classDef start fill:#e3f2fd,stroke:#1565c0",
    "classDef condition fill:#fff8e1,stroke:#f9a825",
    "classDef agent fill:#f3e5f5,stroke:#6a1b9a",
    "classDef router fill:#ede7f6,stroke:#4527a0",
    "classDef input fill:#e0f7fa,stroke:#00838f",
    "classDef executed fill:#c8e6c9,stroke:#2e7d32,stroke-width:2px",
    "classDef running fill:#bbdefb,stroke:#0d47a1,stroke-width:2px,stroke-dasharray:4 2",
    "classDef retried fill:#ffe0b2,stroke:#ef6c00,stroke-width:2px",
    "classDef failed fill:#ffcdd2,stroke:#c62828,stroke-width:3px",
)
TAKEN_STYLE = "stroke:#2e7d32,stroke-width:3px"
DETOUR_STYLE = "stroke:#c62828,stroke-width:2px"


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    return f"{int(seconds // 60)}m{seconds % 60:04.1f}s"


def fmt_time(at: datetime | None, with_date: bool = False) -> str:
    if at is None:
        return "-"
    text = at.strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S")
    return f"{text}.{at.microsecond // 1000:03d}"


def fmt_status(step: StepRun) -> str:
    if step.status == "failed":
        return f"failed ({step.error})" if step.error else "failed"
    if step.status == "retried":
        return f"retried (last failure: {step.last_failure})" if step.last_failure else "retried"
    if step.status == "running" and step.attempts > 1 and step.last_failure:
        return f"running (attempt {step.attempts}, last failure: {step.last_failure})"
    if step.in_workflow:
        return f"{step.status} (in workflow)"
    return step.status


def fmt_usage(usage: dict[str, int]) -> str:
    total = usage.get("total_tokens") or (usage.get("prompt_tokens", 0) + usage.get("completion_tokens", 0))
    return (f"tokens {total} (prompt {usage.get('prompt_tokens', 0)}, "
            f"completion {usage.get('completion_tokens', 0)})")


def _extras(step: StepRun) -> list[str]:
    out = []
    if step.decision is not None:
        out.append(step.decision.line())
    facts = []
    if len(step.scores) > 1:
        facts.append("scores " + " → ".join(f"{x:g}" for x in step.scores))
    elif step.score is not None:
        facts.append(f"score {step.score:g}")
    if step.usage:
        facts.append(fmt_usage(step.usage))
    if len(step.activities) > 1:
        facts.append(f"{len(step.activities)} activities")
    if facts:
        out.append(" · ".join(facts))
    return out


# Text -------------------------------------------------------------------------------------------
def render_run_text(spec: FlowSpec, trace: RunTrace, structure: list[str]) -> str:
    lines = list(structure)
    lines += ["", f"Execution History (run {trace.run_id}: {trace.status})", RULE]
    took = None
    if trace.started_at and trace.closed_at:
        took = (trace.closed_at - trace.started_at).total_seconds()
    head = f"Flow {trace.flow_name} · started {fmt_time(trace.started_at, True)} UTC"
    lines.append(head + (f" · took {fmt_duration(took)}" if took is not None else " · still running"))
    if trace.error:
        lines.append(f"Error: {trace.error}")
    rows: list[tuple[list[str], list[str]]] = []
    failed: list[str] | None = None
    for step in trace.steps:
        rows.append((_cells(str(step.index), f"{_name(step)} ({step.display})", step), _extras(step)))
        if step.status == "failed" and (failed is None or step.key == trace.failed_step):
            failed = rows[-1][1]
        for b in step.branches:
            rows.append((_cells("", f"  ∥ {_name(b)} ({b.display})", b), _extras(b)))
            if b.status == "failed" and b.error:
                failed = rows[-1][1]
    if failed is not None:  # where the user's code raised, under the row that says it failed
        failed.extend(traceback_lines(trace.error_trace))
    header = ["#", "step", "start (UTC)", "duration", "attempts", "status"]
    widths = [max(len(r[i]) for r in [header, *(c for c, _ in rows)]) for i in range(len(header) - 1)]
    for cells, extras in [(header, []), *rows]:
        lines.append("  ".join([*(c.ljust(w) for c, w in zip(cells, widths)), cells[-1]]).rstrip())
        indent = " " * (widths[0] + 4)
        lines.extend(indent + e for e in extras)
    if not trace.steps:
        lines.append("(no step has run yet)")
    return "\n".join(lines)


def traceback_lines(trace: str) -> list[str]:
    """A failed step's traceback (``File ..., line N, in f`` and its source line, for each of the
    user's frames) as lines to indent under its row: ``Traceback:`` then the frames, blank lines
    left out."""
    frames = [line.rstrip() for line in trace.splitlines() if line.strip()]
    return ["Traceback (most recent call last):", *frames] if frames else []


def _name(step: StepRun) -> str:
    label = step.branch or step.key
    return label if step.name == label else f"{label} [{step.name}]"


def _cells(index: str, name: str, step: StepRun) -> list[str]:
    attempts = "-" if step.in_workflow or step.kind == "parallel" else str(step.attempts)
    return [index, name, fmt_time(step.started_at), fmt_duration(step.duration_s), attempts,
            fmt_status(step)]


# Mermaid ----------------------------------------------------------------------------------------
def _node_status(visits: list[StepRun]) -> str:
    statuses = {v.status for v in visits}
    for s in ("failed", "running", "retried"):
        if s in statuses:
            return s
    return "executed"


def _node_note(visits: list[StepRun]) -> str:
    order = ", ".join(str(v.index) for v in visits)
    parts = [f"step {order}" if len(visits) == 1 else f"steps {order}"]
    if len(visits) == 1 and visits[0].duration_s is not None:
        parts.append(fmt_duration(visits[0].duration_s))
    attempts = max(v.attempts for v in visits)
    if attempts > 1:
        parts.append(f"{attempts} attempts")
    if visits[-1].score is not None:
        parts.append(f"score {visits[-1].score:g}")
    status = _node_status(visits)
    if status != "executed":
        parts.append(status)
    return " · ".join(parts)


def render_run_mermaid(spec: FlowSpec, trace: RunTrace) -> str:
    visits: dict[str, list[StepRun]] = {}
    for step in trace.steps:
        if step.key in spec.steps:
            visits.setdefault(step.key, []).append(step)
            for b in step.branches:
                visits.setdefault(f"{step.key}/{b.branch}", []).append(b)
    notes = {k: _node_note(v) for k, v in visits.items()}
    g = mermaid_graph(spec, notes)
    g.lines.insert(1, f"    %% run {trace.run_id}: {trace.status}")
    taken: list[int] = []
    detours: list[int] = []
    for prev, nxt in zip(trace.steps, trace.steps[1:]):
        if prev.key not in spec.steps or nxt.key not in spec.steps:
            continue
        value = prev.decision.value if prev.decision else None
        index = _find_edge(g.edges, prev.key, nxt.key, value)
        if index is None:
            detours.append(g.edge(prev.key, nxt.key, value or "goto", arrow="-.->"))
        elif index not in taken:
            taken.append(index)
    last = trace.steps[-1] if trace.steps else None
    if last is not None and trace.status == "Completed" and last.decision and last.decision.to is None:
        index = _find_edge(g.edges, last.key, None, last.decision.value)
        if index is not None and index not in taken:
            taken.append(index)
    g.lines += [f"    {d}" for d in CLASS_DEFS]
    by_class: dict[str, list[str]] = {}
    for key, vs in visits.items():
        by_class.setdefault(_node_status(vs), []).append(g.node_id(key))
    for cls in ("executed", "running", "retried", "failed"):
        if by_class.get(cls):
            g.lines.append(f"    class {','.join(by_class[cls])} {cls}")
    if taken:
        g.lines.append(f"    linkStyle {','.join(map(str, sorted(taken)))} {TAKEN_STYLE}")
    if detours:
        g.lines.append(f"    linkStyle {','.join(map(str, detours))} {DETOUR_STYLE}")
    return "\n".join(g.lines)


def _find_edge(edges: list[tuple[str, str | None, str | None]], src: str, dst: str | None,
               label: str | None) -> int | None:
    candidates = [i for i, (s, d, _) in enumerate(edges) if s == src and d == dst]
    for i in candidates:
        if edges[i][2] == label:
            return i
    return candidates[0] if candidates else None


__all__ = ["fmt_duration", "render_run_mermaid", "render_run_text", "render_trace", "show"]


def render_trace(trace: RunTrace, format: str = "mermaid", spec: FlowSpec | None = None) -> str:
    """A run drawn over the graph it started with (``trace.spec``; ``spec`` if the run has none)."""
    check_format(format)
    graph = trace.spec or spec
    if graph is None:
        raise ValueError(f"Run {trace.run_id!r} carries no flow spec and none was given to draw it with.")
    if format == "text":
        return render_run_text(graph, trace, render_spec(graph, "text").split("\n"))
    return render_run_mermaid(graph, trace)


def show(spec: FlowSpec, format: str = "mermaid", include_history: bool = False,
         trace: RunTrace | None = None) -> str:
    """What ``flow.show()`` prints: the graph, or with ``trace`` that run drawn over it (the graph it
    started with; ``spec`` when the run carries none). Pure: the caller fetches the trace."""
    check_format(format)
    if trace is None:
        out = render_spec(spec, format)
        if include_history:
            note = "(no run of this Flow object yet: run it first, or pass run_id=...)"
            out += f"\n\nExecution History:\n{RULE}\n{note}" if format == "text" else f"\n    %% {note}"
        return out
    return render_trace(trace, format, spec=spec)
