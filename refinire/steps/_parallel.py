"""Branches: ``ParallelStep`` runs them concurrently; ``ForkStep`` and ``JoinStep`` are Refinire's
markers around them (they record and count branches, and start nothing)."""

from __future__ import annotations

import asyncio
from typing import Any, Sequence

from ..context import Context
from ..errors import FlowDefinitionError
from ..spec import StepSpec
from ._base import Step


class ParallelStep(Step):
    """Runs its branches concurrently, each as its own activity, at most ``max_workers`` at a time.

    The same as a dict value ``{"parallel": [steps], "next_step": ..., "max_workers": n}``. Every
    branch gets the block's input; afterwards ``ctx.shared_state[<branch name>]`` holds each
    branch's output and the next step gets ``{branch name: output}`` in declaration order. Each
    branch's ``shared_state`` changes are merged; two branches changing one key fail the run naming
    both, unless ``merge`` says how to combine it. A branch that finished is never run again.

    Args:
        name: The block's name.
        steps: The branches (steps or agents; names unique within the block). Renaming a branch
            breaks runs in flight that are inside the block.
        next_step: The key of the step after the block; ``None`` takes the implicit rule.
        max_workers: At most this many branches run at once; ``None`` runs them all at once.
        merge: ``shared_state`` key → how to combine it when several branches change it: a name
            from ``MERGE_STRATEGIES`` (``extend``, ``sum``, ``union``, ``update``, ``last``) or a
            pure function ``f(a, b)`` run in the workflow.
        parallel_steps: Refinire's name for ``steps``.

    Raises:
        FlowDefinitionError: No branches given (duplicate names are refused when the flow is built).
    """

    def __init__(self, name: str, steps: Sequence[Step] | None = None, next_step: str | None = None,
                 max_workers: int | None = None, merge: dict[str, Any] | None = None, *,
                 parallel_steps: Sequence[Step] | None = None) -> None:
        super().__init__(name, next_step)
        if steps is None and parallel_steps is None:
            raise FlowDefinitionError(f"ParallelStep {name!r} needs its branches: pass steps=[...].")
        self.steps = list(steps if steps is not None else parallel_steps)  # type: ignore[arg-type]
        self.max_workers = max_workers
        self.merge = dict(merge or {})
        """``shared_state`` key → how to combine it when several branches change it: a strategy
        name (see ``MERGE_STRATEGIES``) or a pure function ``f(a, b)`` run inside the workflow."""

    @property
    def parallel_steps(self) -> list[Step]:
        """Refinire's name for the branches."""
        return self.steps

    def _spec(self, key: str, next_key: str | None) -> StepSpec:
        raise NotImplementedError("compiled by refinire._compile")

    async def run_async(self, user_input: Any, ctx: Context | None = None) -> Context:
        """Run the branches concurrently in this process, each on a copy of the context.

        After it, ``shared_state[<branch>]`` is each branch's output, ``shared_state[
        "__<branch>_metadata__"]`` its status and output, branch writes to ``shared_state`` are
        merged, and ``result`` is ``{branch: output}`` in declaration order.
        """
        ctx = ctx if ctx is not None else Context()
        ctx.update_step_info(self.name)
        before = dict(ctx.shared_state)

        async def one(step: Step) -> tuple[str, Context]:
            sub = ctx.model_copy(deep=True)
            sub.span_history = []
            return step.name, await step.run_async(user_input, sub)

        for name, sub in await asyncio.gather(*(one(s) for s in self.steps)):
            for key, value in sub.shared_state.items():
                if key not in before or before[key] != value:
                    ctx.shared_state[key] = value
            ctx.shared_state[name] = sub.result
            ctx.shared_state[f"__{name}_metadata__"] = {"status": "completed", "output": sub.result}
        ctx.result = {s.name: ctx.shared_state[s.name] for s in self.steps}
        return self._route_on(ctx)


class ForkStep(Step):
    """Refinire's fork marker: records its branches in ``shared_state`` and goes to ``join_step``.

    It starts nothing by itself; for branches that really run concurrently use a parallel block.
    Sets ``shared_state["<name>_branches"]`` and ``shared_state["<name>_started"]``.

    Args:
        name: The step's name.
        branches: The branch step keys to record.
        join_step: The key of the step that follows (usually a ``JoinStep``).
    """

    def __init__(self, name: str, branches: list[str], join_step: str) -> None:
        super().__init__(name, None)
        self.branches = list(branches)
        self.join_step = join_step

    def _branch_targets(self) -> list[str]:
        return [self.join_step]

    async def run_async(self, user_input: Any, ctx: Context | None = None) -> Context:
        """Record the branches and go to ``join_step``; returns the context."""
        ctx = ctx if ctx is not None else Context()
        ctx.update_step_info(self.name)
        ctx.shared_state[f"{self.name}_branches"] = list(self.branches)
        ctx.shared_state[f"{self.name}_started"] = True
        ctx.goto(self.join_step)
        return ctx


class JoinStep(Step):
    """Refinire's join marker: notes how many branches its fork recorded, then moves on.

    Args:
        name: The step's name.
        fork_step: The ``ForkStep``'s name whose branches it counts.
        join_type: Named in the system message it adds (``"all"``, ``"any"``); it waits for nothing.
        next_step: The key of the step that follows; ``None`` takes the implicit rule.
    """

    def __init__(self, name: str, fork_step: str, join_type: str = "all",
                 next_step: str | None = None) -> None:
        super().__init__(name, next_step)
        self.fork_step = fork_step
        self.join_type = join_type

    async def run_async(self, user_input: Any, ctx: Context | None = None) -> Context:
        """Add a system message counting the fork's branches and move on; returns the context."""
        ctx = ctx if ctx is not None else Context()
        ctx.update_step_info(self.name)
        branches = ctx.shared_state.get(f"{self.fork_step}_branches", [])
        ctx.add_system_message(f"Joined {len(branches)} branches using {self.join_type} strategy")
        return self._route_on(ctx)
