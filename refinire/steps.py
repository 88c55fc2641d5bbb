"""The step classes users put in a Flow.

Each knows how to describe itself as a spec (``_spec``) and how to run directly, outside any flow,
the way Refinire's own steps do. Inside a durable flow the workflow decides what runs where.
"""

from __future__ import annotations

import asyncio
import inspect
from abc import ABC, abstractmethod
from typing import Any, Callable, Sequence

from .calls import apply_output, call_kind, invoke
from ._deprecated import renamed
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

__all__ = ["ConditionStep", "DebugStep", "ForkStep", "FunctionStep", "JoinStep", "ParallelStep", "Step",
           "UserInputStep"]


STEP_TIMEOUT_MEANING = "seconds one attempt of the step may run before Temporal ends it and retries"


def _options(retry: RetrySpec | int | None, step_timeout: float | None, local: bool | None,
             heartbeat: float | None) -> StepOptions:
    if isinstance(retry, int) and not isinstance(retry, bool):
        retry = RetrySpec(max_attempts=retry)
    return StepOptions(retry=retry, start_to_close_s=step_timeout, local=local, heartbeat_s=heartbeat)


class Step(ABC):
    """Base class for your own steps: implement ``async run_async(user_input, ctx) -> Context``.

    Code written for Refinire's ``Step`` keeps working and becomes durable: inside a flow the
    subclass's ``run_async`` runs in a Temporal activity with the step's retries, and may route with
    ``ctx.goto(key)`` or ``ctx.finish()``; without either, the flow goes on by the usual rule. Called
    directly (``await step.run_async(x, ctx)``) it runs in this process, with no server.

    Args:
        name: The step's name: what histories, the Temporal UI and ``show()`` call it. A parallel
            branch is found by this name, so renaming a branch breaks runs in flight inside its
            block (a top-level step is found by its key in the flow's dict: renaming the key
            breaks runs in flight that reach it).
        next_step: The key of the step that follows; ``None`` takes the next key of the flow's dict
            that is not a branch target (or ends the flow).

    Example:
        class Shout(Step):
            async def run_async(self, user_input, ctx):
                ctx.result = str(user_input).upper()
                return ctx

        flow = Flow({"shout": Shout("shout")})
    """

    next_step: str | None = None
    """The key of the step that follows (``None``: the implicit rule)."""
    options: StepOptions = StepOptions()
    """The step's Temporal options (retry, step timeout, heartbeat, local); defaults come from the flow."""

    def __init__(self, name: str, next_step: str | None = None) -> None:
        self.name = name
        self.next_step = next_step

    @abstractmethod
    async def run_async(self, user_input: Any, ctx: Context) -> Context:
        """Do the step's work.

        Args:
            user_input: The previous step's output (the run's input for the first step).
            ctx: The run's context: read and write ``ctx.shared_state``, set ``ctx.result`` (the
                step's output), route with ``ctx.goto(key)`` / ``ctx.finish()``.

        Returns:
            The context (the same object, changed, or a new one).
        """

    def spec_for(self, key: str, next_key: str | None = None) -> StepSpec:
        """This step's frozen spec under ``key``: what a compiled flow holds for it."""
        return self._spec(key, next_key)

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

    def __str__(self) -> str:
        return f"{type(self).__name__}({self.name})"

    def _route_on(self, ctx: Context) -> Context:
        """Refinire's ending of a step run directly: go to ``next_step``, else finish."""
        if self.next_step:
            ctx.goto(self.next_step)
        else:
            ctx.finish()
        return ctx


class FunctionStep(Step):
    """Runs ``function(data, ctx)`` or ``function(ctx)`` as a Temporal activity with retries.

    The workhorse: your code runs in an activity, so a crash re-runs only the step that was running
    (steps are at-least-once: make outside effects idempotent), and a failure is retried before the
    error handler or the run's failure. Sync functions run in a thread, coroutine functions are
    awaited. The return value is the step's output (``None`` keeps ``ctx.result``; a returned
    ``Context`` becomes the context).

    Args:
        name: The step's name: what histories, the Temporal UI and ``show()`` call it. A parallel
            branch is found by this name, so renaming a branch breaks runs in flight inside its
            block (a top-level step is found by its key in the flow's dict: renaming the key
            breaks runs in flight that reach it).
        function: ``f(data, ctx)`` or ``f(ctx)`` (counted by required positional parameters), sync
            or async.
        next_step: The key of the step that follows; ``None`` takes the implicit rule.
        retry: Attempts (``int``) or a ``RetrySpec``; ``None`` takes the flow's (default 3 attempts).
        step_timeout: Seconds one attempt may run before Temporal ends it and retries (its
            start-to-close timeout); ``None`` takes the flow's (default 600 s).
        local: Run as a Temporal local activity (a few ms per step, no heartbeat); ``None`` takes
            the flow's.
        heartbeat: Seconds without a heartbeat after which an attempt counts as lost (a dead worker
            is noticed this fast; an async step is cancelled within about 0.8 × this after a
            cancel); ``None`` takes the default (10 s).
        timeout: Deprecated spelling of ``step_timeout`` (seconds; warns). ``timeout`` means an
            agent's model-call timeout.

    Raises:
        FlowDefinitionError: ``function`` is not callable, or both ``timeout`` and ``step_timeout``
            are given.

    Example:
        FunctionStep("charge", charge_card, retry=RetrySpec(max_attempts=5), step_timeout=30)
    """

    def __init__(
        self,
        name: str,
        function: Callable[..., Any],
        next_step: str | None = None,
        *,
        retry: RetrySpec | int | None = None,
        step_timeout: float | None = None,
        local: bool | None = None,
        heartbeat: float | None = None,
        timeout: float | None = None,
    ) -> None:
        super().__init__(name, next_step)
        step_timeout = renamed(type(self).__name__, name, "timeout", "step_timeout", timeout, step_timeout,
                               STEP_TIMEOUT_MEANING)
        if not callable(function):
            raise FlowDefinitionError(
                f"FunctionStep {name!r} needs a callable, got {type(function).__name__}. "
                "Pass a function taking (data, ctx) or (ctx)."
            )
        self.function = function
        self.options = _options(retry, step_timeout, local, heartbeat)

    def _spec(self, key: str, next_key: str | None) -> StepSpec:
        kind = call_kind(self.function)
        assert kind is not None  # checked at compile time with the flow's name in the message
        return FunctionSpec(key=key, name=self.name, next=next_key, options=self.options, call=kind)

    def _identity(self) -> str:
        fn = self.function
        return f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', type(fn).__name__)}"

    async def run_async(self, user_input: Any, ctx: Context | None = None) -> Context:
        """Run outside a flow, as Refinire does: record the step, call the function, route.

        An exception is recorded as a system message ("Function execution error in <name>: ...")
        and the step still moves on. (Inside a durable flow it is retried, then handled.)
        """
        ctx = ctx if ctx is not None else Context()
        ctx.update_step_info(self.name)
        try:
            out = await invoke(self.function, call_kind(self.function) or "data_ctx", user_input, ctx)
            ctx = apply_output(ctx, out)
        except Exception as exc:  # Refinire behaviour outside a flow: record and move on
            ctx.add_system_message(f"Function execution error in {self.name}: {exc}")
        return self._route_on(ctx)


class ConditionStep(Step):
    """Branches inside the workflow: ``condition(ctx)`` must be a pure function of the context.

    The condition runs in the workflow itself, not in an activity, so it costs no round trip and its
    decision is recorded in the history (memo ``decision:<key>``). It is therefore replayed: no I/O,
    clock or randomness; it may write ``ctx.shared_state``. A condition that raises fails the run
    with a message naming the step (outside a flow it takes the false branch, as in Refinire). The
    data passes through unchanged.

    Args:
        name: The step's name, shown in histories and ``show()``.
        condition: ``fn(ctx)``; truthy → ``if_true``, else ``if_false``. In the route form it
            returns a key of the route dict.
        if_true: The step key for a truthy value, or a route dict ``{route: step key, ...}``
            (an unknown route goes to ``"default"`` if present, else the run fails naming it).
        if_false: The step key for a falsy value (``None`` ends the flow); unused with a route dict.

    Raises:
        FlowDefinitionError: ``condition`` is not callable, or the route dict is empty or not
            ``str`` → ``str``.

    Example:
        ConditionStep("age_check", lambda ctx: ctx.shared_state["age"] >= 18, "adult", "minor")
        ConditionStep("triage", lambda ctx: ctx.shared_state["level"],
                      {"urgent": "escalate", "default": "queue"})
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
        """Where the condition's value leads.

        Args:
            value: What ``condition(ctx)`` returned.

        Returns:
            The step key; ``None`` when a route key is unknown and there is no ``"default"`` (or
            for a falsy value without ``if_false``).
        """
        if self.routes is None:
            return self.if_true if value else self.if_false
        key = str(value) if value is not None else None
        if key in self.routes:
            return self.routes[key]
        return self.routes.get("default")

    async def run_async(self, user_input: Any, ctx: Context | None = None) -> Context:
        """Run outside a flow: a condition that raises is recorded and takes the false branch."""
        ctx = ctx if ctx is not None else Context()
        ctx.update_step_info(self.name)
        try:
            value = self.condition(ctx)
            if inspect.isawaitable(value):
                value = await value
        except Exception as exc:
            ctx.add_system_message(f"Condition evaluation error: {exc}")
            value = False if self.routes is None else None
        target = self.choose(value)
        if target:
            ctx.goto(target)
        else:
            ctx.finish()
        return ctx


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


class UserInputStep(Step):
    """Pauses a durable run until someone answers (``handle.answer(text)``, the CLI or the UI).

    The waiting run holds no worker and no process (it is a wait in Temporal, for minutes or days).
    The answer becomes the step's output and ``ctx.last_user_input``.

    Args:
        name: The step's name, shown in histories, ``pending_question`` and ``show()``.
        prompt: The question shown to whoever answers.
        next_step: The key of the step that follows; ``None`` takes the implicit rule.
        answer_timeout: Seconds to wait for an answer; then the step fails with ``AnswerTimeout``
            (the error handler decides, or the run fails). ``None`` waits indefinitely.
        timeout: Deprecated spelling of ``answer_timeout`` (seconds; warns).

    Raises:
        FlowDefinitionError: Both ``timeout`` and ``answer_timeout`` are given.
    """

    def __init__(self, name: str, prompt: str = "", next_step: str | None = None, *,
                 answer_timeout: float | None = None, timeout: float | None = None) -> None:
        super().__init__(name, next_step)
        self.prompt = prompt
        self.answer_timeout = renamed(type(self).__name__, name, "timeout", "answer_timeout", timeout,
                                      answer_timeout, "seconds to wait for an answer")

    def _spec(self, key: str, next_key: str | None) -> StepSpec:
        return UserInputSpec(key=key, name=self.name, next=next_key, prompt=self.prompt,
                             answer_timeout_s=self.answer_timeout)

    async def run_async(self, user_input: Any, ctx: Context | None = None) -> Context:
        """Outside a flow, as Refinire: with input, record it and move on; without, set
        ``awaiting_prompt``/``awaiting_user_input`` and stay (the caller feeds the answer)."""
        ctx = ctx if ctx is not None else Context()
        ctx.update_step_info(self.name)
        if user_input is None:
            ctx.awaiting_prompt = self.prompt
            ctx.awaiting_user_input = True
            ctx.routing_result = {**(ctx.routing_result or {}), "needs_user_input": True,
                                  "prompt": self.prompt, "step_name": self.name}
            if ctx._awaiting_prompt_event is not None:
                ctx._awaiting_prompt_event.set()
            return ctx
        ctx.add_user_message(str(user_input))
        ctx.result = user_input
        ctx.awaiting_prompt = None
        ctx.awaiting_user_input = False
        return self._route_on(ctx)


class DebugStep(FunctionStep):
    """Prints a line about the step (and the context if asked), then passes its input on unchanged.

    In a durable flow it prints from the worker that runs it (for ``flow.run``, your script), and
    adds a system message ``"DEBUG <name>: <message>"``.

    Args:
        name: The step's name.
        message: The text printed after ``DEBUG [<name>]:``.
        print_context: Also print the whole context.
        next_step: The key of the step that follows; ``None`` takes the implicit rule.
    """

    def __init__(self, name: str, message: str = "", print_context: bool = False,
                 next_step: str | None = None) -> None:
        def debug(data: Any, ctx: Context) -> None:
            line = f"DEBUG [{name}]: {message}"
            if data:
                line += f" | User Input: {data}"
            print(f"{line} | Step Count: {ctx.step_count} | Next Label: {ctx.next_label}")
            if print_context:
                print(f"Context: {ctx.model_dump()}")
            ctx.add_system_message(f"DEBUG {name}: {message}")

        debug.__qualname__ = f"DebugStep.{name}"
        super().__init__(name, debug, next_step)
        self.message = message
        self.print_context = print_context


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
