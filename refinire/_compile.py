"""Flow definition → FlowSpec: normalise the four constructor forms, validate, resolve edges.

Every mistake is caught here, when the Flow is built, with a message that names the flow, the
step and the fix. Nothing reaches Temporal that could fail there for a reason known up front.
"""

from __future__ import annotations

import hashlib
from typing import Any, Mapping

from .calls import call_kind
from .errors import FlowDefinitionError
from .spec import END, MERGE_STRATEGIES, FlowSpec, HistoryBudget, ParallelSpec, StepOptions, StepSpec
from .steps import ConditionStep, FunctionStep, ParallelStep, Step

_PARALLEL_KEYS = {"parallel", "next_step", "max_workers", "merge"}


def _label(flow_name: str | None) -> str:
    return f"Flow {flow_name!r}" if flow_name else "Flow"


def normalize(start: Any, steps: Any, flow_name: str | None) -> tuple[str, dict[str, Step]]:
    """The four forms of ``Flow(...)`` → (start key, ordered {key: step})."""
    where = _label(flow_name)
    if isinstance(start, Mapping) and steps is None:
        steps, start = start, None
        if not steps:
            raise FlowDefinitionError(f"{where} has no steps. Pass at least one step, e.g. Flow({{'a': FunctionStep('a', fn)}}).")
        start = next(iter(steps))
    elif isinstance(start, (Step, list, tuple)) and steps is None:
        steps, start = start, None  # Flow(step) and Flow([a, b]) read as Flow(steps=...)
    if steps is None:
        raise FlowDefinitionError(f"{where} has no steps. Pass a dict, a list of steps, or a single step "
                                  f"(Flow({{'a': FunctionStep('a', fn)}}) or Flow(steps=[...])).")
    if isinstance(steps, Step):
        return steps.name, {steps.name: steps}
    if isinstance(steps, (list, tuple)):
        return _from_list(list(steps), where)
    if isinstance(steps, Mapping):
        if not steps:
            raise FlowDefinitionError(f"{where} has no steps. Pass at least one step.")
        if start is None:
            raise FlowDefinitionError(
                f"{where}: start parameter is required when steps is a dictionary. "
                f"Pass start=<key> (one of {list(steps)!r}) or use the positional form Flow({{...}})."
            )
        out = {str(k): _step_value(str(k), v, where) for k, v in steps.items()}
        if start not in out:
            raise FlowDefinitionError(
                f"{where}: start step {start!r} is not in the flow. Known steps: {list(out)!r}"
            )
        return start, out
    raise FlowDefinitionError(
        f"{where}: steps must be a dict, a list of steps or a single step, got {type(steps).__name__}."
    )


def _from_list(items: list[Any], where: str) -> tuple[str, dict[str, Step]]:
    if not items:
        raise FlowDefinitionError(f"{where}: Steps list cannot be empty (the steps list is empty). Pass at least one step.")
    out: dict[str, Step] = {}
    for i, item in enumerate(items):
        if not isinstance(item, Step):
            raise FlowDefinitionError(
                f"{where}: steps[{i}] is a {type(item).__name__}, not a step "
                f"(Step at index {i} must be a Step instance). Wrap functions in FunctionStep(name, fn)."
            )
        if item.name in out:
            raise FlowDefinitionError(
                f"{where}: steps[{i}] repeats the step name {item.name!r}. Step names must be unique."
            )
        out[item.name] = item
    for item, following in zip(items, items[1:]):
        if item.next_step is None and not item._branch_targets():
            item.next_step = following.name
    return items[0].name, out


def _step_value(key: str, value: Any, where: str) -> Step:
    if isinstance(value, Step):
        return value
    if isinstance(value, Mapping) and "parallel" in value:
        extra = set(value) - _PARALLEL_KEYS
        if extra:
            raise FlowDefinitionError(
                f"{where}: parallel block {key!r} has unknown keys {sorted(extra)!r}. "
                f"Allowed: {sorted(_PARALLEL_KEYS)!r}."
            )
        branches = value["parallel"]
        if not isinstance(branches, (list, tuple)) or not branches:
            raise FlowDefinitionError(
                f"{where}: parallel block {key!r} needs 'parallel' to be a non-empty list of steps, "
                f"got {type(branches).__name__}."
            )
        merge = value.get("merge") or {}
        if not isinstance(merge, Mapping):
            raise FlowDefinitionError(
                f"{where}: parallel block {key!r} has merge={merge!r}; give a dict of shared_state key → "
                f"strategy ({sorted(MERGE_STRATEGIES)!r}) or a function f(a, b)."
            )
        return ParallelStep(key, list(branches), value.get("next_step"), value.get("max_workers"),
                            dict(merge))
    raise FlowDefinitionError(
        f"{where}: step {key!r} is a {type(value).__name__}, not a step. Use FunctionStep({key!r}, fn), "
        "ConditionStep, an agent, or a {'parallel': [...]} block."
    )


RESERVED_IN_NAMES = ("/", "#")
"""Characters a step key or branch name may not hold: history ids are ``<key>#<visit>`` and
``<block>/<branch>#<visit>`` (workflows/formats.py), so ``show`` and ``rerun --from`` would misread them."""


def _check_name(name: str, where: str, what: str) -> None:
    """Refuse a step key or branch name holding ``/`` or ``#`` (``what`` says which step it is)."""
    bad = next((c for c in name if c in RESERVED_IN_NAMES), None)
    if bad is None:
        return
    fix = "".join("_" if c in RESERVED_IN_NAMES else c for c in name)
    raise FlowDefinitionError(
        f"{where}: {what} {name!r} contains {bad!r}: '/' and '#' are reserved in step names (Temporal "
        f"activity ids are <step>#<visit>, <block>/<branch>#<visit>); rename it, e.g. {fix!r}."
    )


def _check_function(step: Step, where: str, key: str) -> None:
    fn = getattr(step, "function", None)
    if isinstance(step, FunctionStep) and call_kind(fn) is None:
        raise FlowDefinitionError(
            f"{where}: step {key!r} calls {getattr(fn, '__name__', fn)!r}, which takes the wrong number "
            "of parameters. A step function takes (data, ctx) or (ctx)."
        )
    if isinstance(step, ConditionStep):
        from .calls import required_positional

        if required_positional(step.condition) not in (None, 1):
            raise FlowDefinitionError(
                f"{where}: condition of step {key!r} must take exactly one parameter (ctx)."
            )


def _parallel_spec(key: str, step: ParallelStep, next_key: str | None, where: str) -> ParallelSpec:
    seen: set[str] = set()
    branches = []
    for i, b in enumerate(step.steps):
        if not isinstance(b, Step):
            raise FlowDefinitionError(
                f"{where}: parallel block {key!r} item {i} is a {type(b).__name__}, not a step."
            )
        if b.name in seen:
            raise FlowDefinitionError(
                f"{where}: parallel block {key!r} has two branches named {b.name!r}. Branch names must be unique."
            )
        seen.add(b.name)
        _check_name(b.name, where, f"parallel block {key!r} branch")
        _check_function(b, where, f"{key}/{b.name}")
        spec = b._spec(b.name, None)
        if spec.kind not in ("function", "custom", "agent"):
            raise FlowDefinitionError(
                f"{where}: parallel block {key!r} branch {b.name!r} is a {type(b).__name__}; "
                "branches must be function steps, custom steps or RefinireAgents."
            )
        branches.append(spec)
    mw = step.max_workers if step.max_workers is not None else len(branches)
    if not isinstance(mw, int) or isinstance(mw, bool) or mw < 1:
        raise FlowDefinitionError(
            f"{where}: parallel block {key!r} has max_workers={step.max_workers!r}; use a whole number >= 1."
        )
    merge: dict[str, str] = {}
    for state_key, how in step.merge.items():
        if callable(how):
            merge[str(state_key)] = "callable"
        elif how in MERGE_STRATEGIES:
            merge[str(state_key)] = how
        else:
            raise FlowDefinitionError(
                f"{where}: parallel block {key!r} merges shared_state[{state_key!r}] with {how!r}, which is "
                f"not a strategy. Known strategies: {sorted(MERGE_STRATEGIES)!r}, or pass a function f(a, b)."
            )
    return ParallelSpec(key=key, name=step.name, next=next_key, branches=tuple(branches), max_workers=mw,
                        merge=merge)


def compile_flow(name: str | None, start: str, steps: dict[str, Step], *, max_steps: int,
                 has_error_handler: bool, defaults: StepOptions,
                 history_budget: HistoryBudget | None = None) -> FlowSpec:
    where = _label(name)
    keys = list(steps)
    targets_of_branches = {t for s in steps.values() for t in s._branch_targets()}
    for key in keys:
        _check_name(key, where, "step")
    for key, step in steps.items():
        for t in [*step._branch_targets(), *([step.next_step] if step.next_step else [])]:
            if t not in steps and t != END:
                raise FlowDefinitionError(
                    f"{where}: step {key!r} routes to unknown step {t!r}. Known steps: {keys!r}"
                )
    if not isinstance(max_steps, int) or max_steps < 1:
        raise FlowDefinitionError(f"{where}: max_steps={max_steps!r}; use a whole number >= 1.")
    specs: dict[str, StepSpec] = {}
    for i, (key, step) in enumerate(steps.items()):
        _check_function(step, where, key)
        next_key = step.next_step
        if next_key is None and not step._branch_targets():
            next_key = next((k for k in keys[i + 1:] if k not in targets_of_branches), None)
        if isinstance(step, ParallelStep):
            specs[key] = _parallel_spec(key, step, next_key, where)
        else:
            specs[key] = step._spec(key, next_key)
    return FlowSpec(name=name or "", start=start, steps=specs, max_steps=max_steps,
                    has_error_handler=has_error_handler, defaults=defaults,
                    history_budget=history_budget).with_hash()


def auto_name(spec: FlowSpec, steps: dict[str, Step], module: str | None = None) -> str:
    """A name for an unnamed flow that is the same in every process running the same code."""
    ident = [spec.content_hash, module or ""]
    for key, step in steps.items():
        ident.append(f"{key}={step._identity()}")
        for b in getattr(step, "steps", []) if isinstance(step, ParallelStep) else []:
            ident.append(f"{key}/{b.name}={b._identity()}")
    return "flow-" + hashlib.sha256("|".join(ident).encode()).hexdigest()[:12]
