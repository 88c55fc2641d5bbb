"""How a parallel block's branches come back together: deterministic, in declaration order.

Branch writes to ``shared_state`` are merged in declaration order, never completion order, so a
replay (and every reader of the result) sees the same context whatever finished first.
"""

from __future__ import annotations

from typing import Any, Sequence

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from refinire.context import Context
    from refinire.spec import ParallelSpec

    from .io import StepOutput
    from .runtime import StepFailed


def merge_branches(ctx: Context, block: ParallelSpec, results: Sequence[StepOutput | BaseException],
                   before: dict[str, Any], n_messages: int, n_usage: int) -> Context:
    """Fold finished branches into ``ctx``; then raise the first failure, if any, for the handler."""
    merged: dict[str, Any] = {}
    first_failure: StepFailed | None = None
    for b, res in zip(block.branches, results):
        if isinstance(res, StepFailed):
            first_failure = first_failure or res
            ctx.shared_state[f"__{b.name}_metadata__"] = {"status": "failed", "error": str(res)}
            continue
        if isinstance(res, BaseException):
            raise res
        for k, v in res.context.shared_state.items():
            if k not in before or before[k] != v:
                ctx.shared_state[k] = v
        ctx.messages.extend(res.context.messages[n_messages:])
        ctx.usage.extend(res.context.usage[n_usage:])
        if res.context.evaluation_result is not None:
            ctx.evaluation_result = res.context.evaluation_result
        merged[b.name] = res.context.result
        ctx.shared_state[b.name] = res.context.result
        ctx.shared_state[f"__{b.name}_metadata__"] = {"status": "completed", "output": res.context.result}
    if first_failure is not None:
        raise first_failure
    ctx.result = merged
    return ctx
