"""How a parallel block's branches come back together: as diffs against the fork, in declaration order.

Every branch starts from the context at the fork and reports what it changed. Changes to different
``shared_state`` keys all apply, deletes included. Two branches changing one key to different values
is a conflict: the run fails naming the key and both branches, unless the block says how to merge
that key (``"merge": {"log": "extend", "n": "sum"}`` or a pure function ``f(a, b)``, like
LangGraph's reducers). Equal values are a conflict too: two branches that each increment one
counter write equal values, and keeping one would lose the other's increment. No write is ever
lost silently. Declaration order, never completion order,
decides everything, so a replay sees the same context whatever finished first.

Runs recorded in format 1 keep that format's rule (later branches overwrite earlier ones) so that
their histories replay unchanged.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from refinire.context import Context
    from refinire.spec import ParallelSpec

    from .delta import ContextDelta, Snapshot, apply, metadata_key
    from .io import StepOutput
    from .runtime import StepFailed

_DELETED = object()


def _fail(message: str, kind: str, **details: Any) -> ApplicationError:
    return ApplicationError(message, details, type=kind, non_retryable=True)


def _combine(how: str | Callable[[Any, Any], Any], fork: Any, values: list[Any], where: str,
             step: str = "") -> Any:
    """One value for a key several branches changed, by the block's declared strategy."""
    if callable(how):
        out = values[0]
        for v in values[1:]:
            out = how(out, v)
        return out
    if how == "last":
        return values[-1]
    try:
        if how == "extend":
            base = list(fork) if isinstance(fork, (list, tuple)) else []
            out = list(base)
            for v in values:
                v = list(v)
                out.extend(v[len(base):] if v[:len(base)] == base else v)
            return tuple(out) if all(isinstance(v, tuple) for v in values) else out
        if how == "sum":
            if fork is None or isinstance(fork, bool):
                total = values[0]
                for v in values[1:]:
                    total = total + v
                return total
            total = fork
            for v in values:
                total = total + (v - fork)
            return total
        if how == "union":
            if all(isinstance(v, (set, frozenset)) for v in values):
                return set(fork or ()).union(*values)
            out_set: list[Any] = list(fork) if isinstance(fork, (list, tuple, set)) else []
            for v in values:
                out_set.extend(x for x in v if x not in out_set)
            return out_set
        if how == "update":
            merged = dict(fork) if isinstance(fork, dict) else {}
            for v in values:
                merged.update(v)
            return merged
    except TypeError as exc:
        raise _fail(f"{where}: cannot merge with {how!r}: {exc}. Use a strategy that fits the values "
                    "or a function f(a, b).", "MergeFailed", step=step) from None
    raise _fail(f"{where}: unknown merge strategy {how!r}.", "MergeFailed", step=step)


def _delta_of(res: StepOutput, fork: Snapshot) -> ContextDelta:
    if res.delta is not None:
        return res.delta
    assert res.context is not None
    return fork.delta(res.context)


def merge_branches(ctx: Context, block: ParallelSpec, results: Sequence[StepOutput | BaseException],
                   fork: Snapshot, *, strict: bool, flow: Any = None) -> Context:
    """Fold finished branches into ``ctx``; then raise the first failure, if any, for the handler."""
    where = f"Flow {flow.durable_name if flow is not None else ''!r}: parallel block {block.key!r}"
    fork_state = dict(ctx.shared_state)
    changes: dict[Any, list[tuple[str, Any]]] = {}
    outputs: dict[str, Any] = {}
    failed: dict[str, StepFailed] = {}
    first_failure: StepFailed | None = None
    for b, res in zip(block.branches, results):
        if isinstance(res, StepFailed):
            first_failure = first_failure or res
            failed[b.name] = res
            continue
        if isinstance(res, BaseException):
            raise res
        delta = _delta_of(res, fork)
        for k, v in delta.set:
            changes.setdefault(k, []).append((b.name, v))
        for k in delta.deleted:
            changes.setdefault(k, []).append((b.name, _DELETED))
        ctx.messages.extend(delta.messages)
        ctx.usage.extend(res.usage)
        fields = {f: v for f, v in delta.fields.items() if f in ("evaluation_result", "routing_result",
                                                                 "clarification_result", "last_user_input")}
        if fields:
            apply(ctx, ContextDelta(result_changed=False, fields=fields))
        outputs[b.name] = delta.result if delta.result_changed else ctx.result
    live = getattr(flow, "step_object", lambda *_: None)(block.key)
    for key, writes in changes.items():
        values = [v for _, v in writes]
        how = block.merge.get(str(key)) if isinstance(key, (str, int)) else None
        if not strict or len(writes) == 1:
            value = values[-1]
        else:
            if how is None or _DELETED in values:
                names = [n for n, _ in writes]
                raise _fail(
                    f"{where}: branches {names[0]!r} and {names[1]!r} both changed shared_state[{key!r}]"
                    f"{' (one deleted it)' if _DELETED in values else ''}, so one write would be lost. "
                    f"Write to different keys, or say how to merge it: "
                    f"{{'parallel': [...], 'merge': {{{str(key)!r}: 'extend'}}}} (strategies: extend, "
                    "sum, union, update, last) or a function f(a, b).",
                    "ParallelConflict", step=block.key, key=str(key), branches=names)
            if how == "callable":
                how = (getattr(live, "merge", {}) or {}).get(key)
                if not callable(how):
                    raise _fail(f"{where}: the merge function for shared_state[{key!r}] is not in this "
                                "worker's code. Deploy code that has it.", "StepNotInCode", step=block.key)
            value = _combine(how, fork_state.get(key), values, f"{where}, shared_state[{key!r}]", block.key)
        if value is _DELETED:
            ctx.shared_state.pop(key, None)
        else:
            ctx.shared_state[key] = value
    for b in block.branches:
        if b.name in failed:
            ctx.shared_state[metadata_key(b.name)] = {"status": "failed", "error": str(failed[b.name])}
        elif b.name in outputs:
            out = outputs[b.name]
            ctx.shared_state[b.name] = out
            ctx.shared_state[metadata_key(b.name)] = {"status": "completed", "output": out}
    if first_failure is not None:
        raise first_failure
    ctx.result = {b.name: outputs[b.name] for b in block.branches}
    return ctx
