"""The step classes users put in a Flow.

Each knows how to describe itself as a spec (``_spec``) and how to run directly, outside any flow,
the way Refinire's own steps do. Inside a durable flow the workflow decides what runs where.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import Any, Callable, Sequence

from ._call import apply_output, call_kind, invoke
from .context import Context
from .errors import FlowDefinitionError
from .spec import (
    ConditionSpec,
    CustomSpec,
    FunctionSpec,
    RetrySpec,
    StepOptions,
    StepSpec,
    UserInputSpec,
)

__all__ = ["ConditionStep", "DebugStep", "FunctionStep", "ParallelStep", "Step", "UserInputStep"]


def _options(retry: RetrySpec | int | None, timeout: float | None, local: bool | None,
             heartbeat: float | None) -> StepOptions:
    if isinstance(retry, int) and not isinstance(retry, bool):
        retry = RetrySpec(max_attempts=retry)
    return StepOptions(retry=retry, start_to_close_s=timeout, local=local, heartbeat_s=heartbeat)


class Step(ABC):
    """Base class for user steps: implement ``async run_async(user_input, ctx) -> Context``.

    A subclass runs as a Temporal activity; it may route with ``ctx.goto(key)`` or ``ctx.finish()``.
    """

    next_step: str | None = None
    options: StepOptions = StepOptions()

    def __init__(self, name: str, next_step: str | None = None) -> None:
        self.name = name
        self.next_step = next_step

    @abstractmethod
    async def run_async(self, user_input: Any, ctx: Context) -> Context: ...

    def _spec(self, key: str, next_key: str | None) -> StepSpec:
        return CustomSpec(key=key, name=self.name, next=next_key, options=self.options,
                          class_name=type(self).__qualname__)

    def _branch_targets(self) -> list[str]:
        """Keys this step routes to by its own decision (they are not implicit successors)."""
        return []

    def _identity(self) -> str:
        """Stable across processes: what distinguishes this step from a look-alike in another flow."""
        return f"{type(self).__module__}.{type(self).__qualname__}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class FunctionStep(Step):
    """Runs ``function(data, ctx)`` or ``function(ctx)`` as a Temporal activity with retries."""

    def __init__(
        self,
        name: str,
        function: Callable[..., Any],
        next_step: str | None = None,
        *,
        retry: RetrySpec | int | None = None,
        timeout: float | None = None,
        local: bool | None = None,
        heartbeat: float | None = None,
    ) -> None:
        super().__init__(name, next_step)
        if not callable(function):
            raise FlowDefinitionError(
                f"FunctionStep {name!r} needs a callable, got {type(function).__name__}. "
                "Pass a function taking (data, ctx) or (ctx)."
            )
        self.function = function
        self.options = _options(retry, timeout, local, heartbeat)

    def _spec(self, key: str, next_key: str | None) -> StepSpec:
        kind = call_kind(self.function)
        assert kind is not None  # checked at compile time with the flow's name in the message
        return FunctionSpec(key=key, name=self.name, next=next_key, options=self.options, call=kind)

    def _identity(self) -> str:
        fn = self.function
        return f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', type(fn).__name__)}"

    async def run_async(self, user_input: Any, ctx: Context) -> Context:
        ctx.current_step = self.name
        try:
            out = await invoke(self.function, call_kind(self.function) or "data_ctx", user_input, ctx)
            ctx = apply_output(ctx, out)
        except Exception as exc:  # Refinire behaviour outside a flow: record and move on
            ctx.add_system_message(f"Function execution error in {self.name}: {exc}")
        if self.next_step:
            ctx.goto(self.next_step)
        else:
            ctx.finish()
        return ctx


class ConditionStep(Step):
    """Branches inside the workflow: ``condition(ctx)`` must be a pure function of the context.

    Two forms: ``ConditionStep(name, fn, if_true, if_false)`` and
    ``ConditionStep(name, fn, {"route_key": "step_key", ..., "default": "step_key"})``.
    """

    def __init__(
        self,
        name: str,
        condition: Callable[[Context], Any],
        if_true: str | dict[str, str],
        if_false: str | None = None,
    ) -> None:
        super().__init__(name)
        if not callable(condition):
            raise FlowDefinitionError(
                f"ConditionStep {name!r} needs a callable condition taking ctx, "
                f"got {type(condition).__name__}."
            )
        self.condition = condition
        self.routes: dict[str, str] | None = None
        if isinstance(if_true, dict):
            if not if_true or not all(isinstance(k, str) and isinstance(v, str) for k, v in if_true.items()):
                raise FlowDefinitionError(
                    f"ConditionStep {name!r}: the route dict must map route keys (str) to step keys (str), "
                    f"got {if_true!r}."
                )
            self.routes = dict(if_true)
            self.if_true = self.if_false = None
        else:
            self.if_true, self.if_false = if_true, if_false

    def _spec(self, key: str, next_key: str | None) -> StepSpec:
        return ConditionSpec(key=key, name=self.name, if_true=self.if_true, if_false=self.if_false,
                             routes=self.routes)

    def _branch_targets(self) -> list[str]:
        if self.routes is not None:
            return list(self.routes.values())
        return [t for t in (self.if_true, self.if_false) if t]

    def _identity(self) -> str:
        fn = self.condition
        return f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', type(fn).__name__)}"

    def choose(self, value: Any) -> str | None:
        """Where the condition's value leads; ``None`` when a route key is unknown."""
        if self.routes is None:
            return self.if_true if value else self.if_false
        key = str(value) if value is not None else None
        if key in self.routes:
            return self.routes[key]
        return self.routes.get("default")

    async def run_async(self, user_input: Any, ctx: Context) -> Context:
        try:
            value = self.condition(ctx)
        except Exception:
            value = False if self.routes is None else None
        target = self.choose(value)
        if target:
            ctx.goto(target)
        else:
            ctx.finish()
        return ctx


class ParallelStep(Step):
    """Runs its branches concurrently, each as its own activity, at most ``max_workers`` at a time."""

    def __init__(self, name: str, steps: Sequence[Step], next_step: str | None = None,
                 max_workers: int | None = None, merge: dict[str, Any] | None = None) -> None:
        super().__init__(name, next_step)
        self.steps = list(steps)
        self.max_workers = max_workers
        self.merge = dict(merge or {})
        """``shared_state`` key → how to combine it when several branches change it: a strategy
        name (see ``MERGE_STRATEGIES``) or a pure function ``f(a, b)`` run inside the workflow."""

    def _spec(self, key: str, next_key: str | None) -> StepSpec:
        raise NotImplementedError("compiled by refinire._compile")

    async def run_async(self, user_input: Any, ctx: Context) -> Context:
        import asyncio

        async def one(step: Step) -> tuple[str, Any]:
            sub = ctx.model_copy(deep=True)
            sub = await step.run_async(user_input, sub)
            return step.name, sub.result

        for name, out in await asyncio.gather(*(one(s) for s in self.steps)):
            ctx.shared_state[name] = out
        ctx.result = {s.name: ctx.shared_state[s.name] for s in self.steps}
        if self.next_step:
            ctx.goto(self.next_step)
        else:
            ctx.finish()
        return ctx


class UserInputStep(Step):
    """Pauses a durable run until someone answers (``handle.answer(text)``, the CLI or the UI)."""

    def __init__(self, name: str, prompt: str = "", next_step: str | None = None, *,
                 timeout: float | None = None) -> None:
        super().__init__(name, next_step)
        self.prompt = prompt
        self.answer_timeout = timeout

    def _spec(self, key: str, next_key: str | None) -> StepSpec:
        return UserInputSpec(key=key, name=self.name, next=next_key, prompt=self.prompt,
                             answer_timeout_s=self.answer_timeout)

    async def run_async(self, user_input: Any, ctx: Context) -> Context:
        if user_input is not None:
            ctx.add_user_message(str(user_input))
            ctx.result = user_input
        if self.next_step:
            ctx.goto(self.next_step)
        else:
            ctx.finish()
        return ctx


class DebugStep(FunctionStep):
    """Prints the context from the worker, then passes its input on unchanged."""

    def __init__(self, name: str, message: str = "", print_context: bool = False,
                 next_step: str | None = None) -> None:
        def debug(data: Any, ctx: Context) -> None:
            print(f"[DEBUG {name}] {message} data={data!r}")
            if print_context:
                print(json.dumps(ctx.shared_state, indent=2, default=str))

        debug.__qualname__ = f"DebugStep.{name}"
        super().__init__(name, debug, next_step)
