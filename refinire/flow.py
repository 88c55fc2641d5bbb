"""``Flow``: the builder users write. It holds the callables; ``spec`` is what Temporal sees."""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from typing import Any, Callable

from . import _registry
from ._sync import blocking
from ._compile import auto_name, compile_flow, normalize
from ._deprecated import renamed
from .context import TERMINAL_LABELS, Context
from .errors import FlowDefinitionError
from .spec import END, FlowSpec, HistoryBudget, RetrySpec, StepOptions
from .steps import STEP_TIMEOUT_MEANING, ParallelStep, Step

__all__ = ["Flow"]

ErrorHandler = Callable[[BaseException, Context], "str | None"]
HOOK_TYPES = ("before_step", "after_step", "error")


class Flow:
    """A durable workflow: compiled to a ``FlowSpec`` and run by Temporal's ``FlowWorkflow``.

    Forms: ``Flow({"a": s1, "b": s2})``, ``Flow(start="a", steps={...})``, ``Flow(steps=[s1, s2])``,
    ``Flow(steps=step)``.
    """

    END = END
    TERMINATE = "_FLOW_TERMINATE_"
    FINISH = "_FLOW_FINISH_"

    def __init__(
        self,
        start: Any = None,
        steps: Any = None,
        context: Context | None = None,
        max_steps: int = 1000,
        trace_id: str | None = None,
        name: str | None = None,
        *,
        retry: RetrySpec | int | None = None,
        step_timeout: float | None = None,
        local: bool = False,
        history_budget: HistoryBudget | None = None,
        timeout: float | None = None,
    ) -> None:
        self.name = name
        self._module: str | None = sys._getframe(1).f_globals.get("__name__")
        self._variable: str | None = None
        self._registered_name: str | None = None
        self._error_handler: ErrorHandler | None = None
        self.max_steps = max_steps
        self.steps = steps if steps is not None else start
        self.start, self._steps = normalize(start, steps, name)
        if isinstance(retry, int) and not isinstance(retry, bool):
            retry = RetrySpec(max_attempts=retry)
        step_timeout = renamed("Flow", name or "(unnamed)", "timeout", "step_timeout", timeout, step_timeout,
                               STEP_TIMEOUT_MEANING)
        self._defaults = StepOptions(retry=retry, start_to_close_s=step_timeout, local=local)
        if history_budget is not None and not isinstance(history_budget, HistoryBudget):
            raise FlowDefinitionError(
                f"Flow {name or '(unnamed)'!r}: history_budget={history_budget!r}; pass "
                "HistoryBudget(max_events=..., max_bytes=...).")
        self._history_budget = history_budget
        self._spec = self._compile()
        self.trace_id = trace_id or f"{name or 'flow'}_{time.strftime('%Y%m%d_%H%M%S')}_{uuid.uuid4().hex[:8]}"
        if context is not None:  # Refinire: the flow's context carries its trace id and start
            context.trace_id, context.next_label = self.trace_id, self.start
        self._initial_context = context.model_copy(deep=True) if context is not None else None
        self.context = context or Context(trace_id=self.trace_id, next_label=self.start)
        self.last_run_id: str | None = None
        self.last_result: Any = None
        self.before_step_hooks: list[Callable[[str, Context], Any]] = []
        self.after_step_hooks: list[Callable[[str, Context, Any], Any]] = []
        self.error_hooks: list[Callable[[str, Context, BaseException], Any]] = []
        self._background: asyncio.Task | None = None
        self._stopped = False
        self._register_trace()

    # Definition ---------------------------------------------------------------------------
    def _compile(self) -> FlowSpec:
        spec = compile_flow(self.name, self.start, self._steps, max_steps=self.max_steps,
                            has_error_handler=self._error_handler is not None,
                            defaults=self._defaults, history_budget=self._history_budget)
        self._hash_name = auto_name(spec, self._steps, self._module)
        return spec.model_copy(update={"name": self.durable_name})

    @property
    def durable_name(self) -> str:
        """The name runs, task queues and the UI use: ``name=``, else ``module:variable``.

        ``module:variable`` is where the code lives: the module-level variable the flow is bound to,
        in the module that defines it (a script run as ``python myjob.py`` is the module ``myjob``,
        as it is when imported, served by ``worker.py myjob`` or run by ``refinire-flow run
        myjob:flow``), so every command the product prints finds the code from the script's folder.
        A flow bound to no module-level variable is ``flow-<hash>`` (module, graph and step
        functions); one bound to a variable of code that cannot be imported (``python -c``, a
        notebook) is ``<variable>-<hash>``. Once registered, the name this process registered it under (see ``register``).
        """
        if self.name:
            return self.name
        if self._registered_name:
            return self._registered_name
        where = self.code_location
        if where:
            return where
        # Bound to a variable in code no other process can import (``python -c``, a notebook).
        return f"{self._variable or 'flow'}-{self._hash_name.removeprefix('flow-')}"

    @property
    def code_location(self) -> str | None:
        """``module:variable`` of this flow's module-level variable, importable by that name; ``None``
        for a flow bound to none (made in a function) or defined where no module name exists."""
        if self._variable is None:
            module = sys.modules.get(self._module or "")
            for var, value in vars(module).items() if module else ():
                if value is self:
                    self._variable = var
                    break
        module_name = importable_module_name(self._module)
        if self._variable is None or module_name is None:
            return None
        return f"{module_name}:{self._variable}"

    @property
    def spec(self) -> FlowSpec:
        """The compiled graph; recompiled on each access so later edits to the steps are seen."""
        self._spec = self._compile()
        return self._spec

    def set_error_handler(self, handler: ErrorHandler | None) -> None:
        """``handler(error, ctx)`` runs in the workflow when a step fails for good.

        It returns a step key to continue there with the failed step's input, or ``None`` to fail.
        Like conditions, it must be a pure function of its arguments.
        """
        if handler is not None and not callable(handler):
            raise FlowDefinitionError(f"Flow {self.durable_name!r}: the error handler must be callable.")
        self._error_handler = handler
        self._spec = self._compile()

    @property
    def error_handler(self) -> ErrorHandler | None:
        return self._error_handler

    def step_object(self, key: str, branch: str | None = None) -> Step | None:
        """The live step for a key (and branch of a parallel block), as the worker's code has it."""
        step = self._steps.get(key)
        if branch is None or step is None:
            return step
        if isinstance(step, ParallelStep):
            return next((b for b in step.steps if b.name == branch), None)
        return None

    # Refinire compatibility ---------------------------------------------------------------
    @property
    def next_step_name(self) -> str | None:
        return self.context.next_label

    @property
    def current_step_name(self) -> str | None:
        return self.context.current_step

    @property
    def finished(self) -> bool:
        return self.context.is_finished()

    @property
    def flow_name(self) -> str:
        """The flow's name: ``name=``, else its durable name (Refinire gave ``None`` when unnamed)."""
        return self.durable_name

    @property
    def flow_id(self) -> str:
        """Refinire's flow identifier: the trace id."""
        return self.trace_id

    @property
    def step_history(self) -> list[dict[str, Any]]:
        """One entry per executed step of the last run (``step_name``, ``status``, ...)."""
        return self.get_step_history()

    def get_step_history(self) -> list[dict[str, Any]]:
        return list(self.context.span_history)

    def add_hook(self, hook_type: str, callback: Callable[..., Any]) -> None:
        """Observe steps: ``"before_step"`` ``fn(step_name, ctx)``, ``"after_step"``
        ``fn(step_name, ctx, result)``, ``"error"`` ``fn(step_name, ctx, error)``.

        In a durable run, hooks run in the worker that executes the step (for ``flow.run``, this
        process): around every attempt of a function or custom step (in its activity), and around
        every agent step (``RefinireAgent``, ``RouterAgent``, ``ClarifyAgent``: called by the worker
        that runs the workflow, on a copy of the context, never while a history is replayed).
        Conditions and ``UserInputStep`` run no hooks: they run inside the workflow. Parallel
        branches are included. A hook that raises is ignored, as in Refinire.

        Raises:
            ValueError: ``Unknown hook type: ...``.
        """
        lists = {"before_step": self.before_step_hooks, "after_step": self.after_step_hooks,
                 "error": self.error_hooks}
        if hook_type not in lists:
            raise FlowDefinitionError(f"Unknown hook type: {hook_type}. Use one of {list(HOOK_TYPES)!r}.")
        if not callable(callback):
            raise FlowDefinitionError(f"Flow {self.durable_name!r}: the {hook_type!r} hook must be callable.")
        lists[hook_type].append(callback)

    def run_hooks(self, hook_type: str, *args: Any) -> None:
        """Call every hook of that type with ``args``; a hook that raises is ignored."""
        hooks = {"before_step": self.before_step_hooks, "after_step": self.after_step_hooks,
                 "error": self.error_hooks}[hook_type]
        for hook in list(hooks):
            try:
                hook(*args)
            except Exception:
                pass

    def get_possible_routes(self, step_name: str) -> list[str]:
        if step_name not in self._spec.steps:
            raise FlowDefinitionError(
                f"Flow {self.durable_name!r} has no step {step_name!r}. Known steps: {list(self._spec.steps)!r}"
            )
        return self._spec.targets(step_name)

    def get_flow_summary(self) -> dict[str, Any]:
        """Refinire's summary of the flow and its last run, plus the durable facts (steps, run id)."""
        spec = self.spec
        ctx = self.context
        return {
            "flow_id": self.flow_id,
            "flow_name": self.durable_name,
            "trace_id": self.trace_id,
            "current_span_id": ctx.current_span_id,
            "start_step": self.start,
            "current_step": self.current_step_name,
            "next_step": self.next_step_name,
            "step_count": ctx.step_count,
            "finished": self.finished,
            "start_time": ctx.start_time,
            "execution_history": self.get_step_history(),
            "span_history": ctx.get_span_history(),
            "trace_summary": ctx.get_trace_summary(),
            "artifacts": ctx.artifacts,
            "message_count": len(ctx.messages),
            "steps": {k: s.kind for k, s in spec.steps.items()},
            "max_steps": self.max_steps,
            "last_run_id": self.last_run_id,
        }

    def reset(self) -> None:
        """Back to the state before any run: a fresh context at the start step.

        A background task of this flow is cancelled; a run already in Temporal is not touched
        (``stop()`` cancels it).
        """
        self.context = self._fresh_context()
        self.last_result = None
        if self._background is not None and not self._background.done():
            self._background.cancel()
        self._background = None

    def stop(self) -> None:
        """Stop the flow: cancel its run in flight in Temporal (it ends CANCELED, its finished
        steps stay recorded), cancel a background task, and mark the context finished."""
        run_id = self.last_run_id
        cancelled = False
        if run_id is not None and not (self.last_result is not None
                                       and getattr(self.last_result, "run_id", None) == run_id):
            from client.control import cancel_run

            cancelled = blocking(lambda: cancel_run(run_id))
        self._stopped = True
        self.context.finalize_flow_span()
        self.context.finish()
        # A background run_loop still hosts the worker that must record the cancellation: it ends
        # by itself once the run is CANCELED. Without a run to cancel, cancel the task at once.
        if not cancelled and self._background is not None and not self._background.done():
            self._background.cancel()

    def step(self) -> None:
        """Run the next step once, in this process, on ``flow.context`` (Refinire's CLI style).

        This is a debugging aid and is not durable: the step runs here, not in Temporal.
        Hooks run around it. A finished flow does nothing.
        """
        if self.finished:
            return
        key = self.context.next_label
        if key not in self._steps:
            self.context.finish()
            return
        blocking(lambda: self._step_here(key))

    async def _step_here(self, key: str) -> None:
        step = self._steps[key]
        ctx = self.context
        self.run_hooks("before_step", step.name, ctx)
        try:
            out = await step.run_async(ctx.result, ctx)
        except Exception as exc:
            self.run_hooks("error", step.name, ctx, exc)
            raise
        self.context = out if isinstance(out, Context) else ctx
        following = self.spec.steps[key].next
        if (step.next_step is None and not step._branch_targets() and self.context.finished
                and following is not None):
            self.context.goto(following)  # our implicit successor, as in a durable run
        if self.context.next_label in TERMINAL_LABELS:
            self.context.finish()
        self.run_hooks("after_step", step.name, self.context, self.context)

    async def start_background_task(self) -> asyncio.Task:
        """Start ``run_loop()`` as a task of this event loop; answer its questions with ``feed``.

        Raises:
            RuntimeError: "Flow is already running as background task".
        """
        if self._background is not None and not self._background.done():
            raise RuntimeError("Flow is already running as background task")
        self._stopped = False
        self._background = asyncio.ensure_future(self._background_loop())
        return self._background

    async def _background_loop(self) -> Any:
        from .errors import FlowExecutionError

        try:
            return await self.run_loop()
        except FlowExecutionError:
            if self._stopped:  # stop() cancelled the run: the task ends quietly, as in Refinire
                return None
            raise

    def _fresh_context(self) -> Context:
        if self._initial_context is not None:
            return self._initial_context.model_copy(deep=True)
        return Context(trace_id=self.trace_id, next_label=self.start)

    def _run_context(self, input_data: Any, ctx: Context | None) -> Context:
        """The context a run starts with: the given one, else a fresh copy of the flow's initial
        context. A text input is also the first user message (``ctx.last_user_input``), as in
        Refinire."""
        ctx = ctx if ctx is not None else self._fresh_context()
        if isinstance(input_data, str) and input_data:
            ctx.add_user_message(input_data)
        return ctx

    def _register_trace(self) -> None:
        from .observability import get_global_registry

        try:
            agents = [s.name for s in self._steps.values() if _is_agent(s)]
            get_global_registry().register_trace(self.trace_id, flow_name=self.name,
                                                 flow_id=self.flow_id, agent_names=agents,
                                                 tags={"flow_type": "default"})
        except Exception:
            pass

    # Running -----------------------------------------------------------------------------
    async def run(self, input_data: Any = None, ctx: Context | str | None = None, *,
                  run_id: str | None = None, initial_input: Any = None) -> Any:
        """Run as a durable Temporal workflow and return its output (with the run's context).

        Args:
            input_data: The first step's data (``initial_input=`` is Refinire's older name; a
                string as the second positional argument is taken as it too).
            ctx: The run's context; after the run it holds the final state.
            run_id: Of an existing run: attach to it instead of starting another.
        """
        from client.runner import run_flow

        from .errors import FlowExecutionError
        from .observability import get_global_registry

        input_data, ctx = _run_args(input_data, ctx, initial_input)
        registry = get_global_registry()
        try:
            result = await run_flow(self, input_data, self._run_context(input_data, ctx), run_id=run_id)
        except FlowExecutionError as err:
            registry.update_trace(self.trace_id, status="error", add_tags={
                "error_step": err.step, "error_type": err.cause_type, "error_message": err.cause_message,
                "run_id": err.run_id})
            raise
        registry.update_trace(self.trace_id, status="completed", total_spans=len(self.context.span_history),
                              add_tags={"run_id": result.run_id})
        return result

    async def start_run(self, input_data: Any = None, ctx: Context | None = None, *,
                    run_id: str | None = None) -> Any:
        """Start a run without waiting; returns a handle (``await handle.result()``)."""
        from client.runner import start_flow

        return await start_flow(self, input_data, self._run_context(input_data, ctx), run_id=run_id)

    async def run_loop(self, input_data: Any = None, ctx: Context | None = None, *,
                       run_id: str | None = None) -> Any:
        """Run interactively: each question the run waits on is answered with ``feed(text)``."""
        from client.handle import run_loop

        return await run_loop(self, input_data, self._run_context(input_data, ctx), run_id=run_id)

    def feed(self, text: str) -> None:
        from client.handle import feed

        feed(self, text)

    def next_prompt(self) -> str | None:
        from client.handle import next_prompt

        return next_prompt(self)

    def show(self, format: str = "mermaid", include_history: bool = False, *,
             run_id: str | None = None) -> str:
        from ._show import show

        return show(self, format=format, include_history=include_history, run_id=run_id)

    def register(self) -> str:
        """Make this process able to execute the flow; returns its durable name.

        Two unnamed flows can look alike to the hash (a factory whose lambdas capture different
        values): the second one registered in a process gets ``-2`` appended, so neither ever runs
        the other's code. The order is the program's, so a restarted script gets the same names.
        """
        if self._registered_name and _registry.get(self._registered_name) is self:
            return self._registered_name
        name = self.durable_name
        self._registered_name = _registry.register(name, self, unique=not self.name)
        return self._registered_name

    def __str__(self) -> str:
        return f"Flow(start={self.start}, steps={len(self._steps)}, finished={self.finished})"

    def __repr__(self) -> str:
        return f"Flow({self.durable_name!r}, start={self.start!r}, steps={list(self._steps)!r}, finished={self.finished})"


def importable_module_name(module: str | None) -> str | None:
    """The name a module is imported by: ``__main__`` is the script's own name (``python -m pkg.job``
    → ``pkg.job``; ``python job.py`` → ``job``); ``None`` when there is none (a REPL, ``python -c``)."""
    if module != "__main__":
        return module
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name and spec.name != "__main__":
        return spec.name.removesuffix(".__main__")
    path = getattr(main, "__file__", None)
    if path:
        stem = os.path.splitext(os.path.basename(path))[0]
        if stem.isidentifier():
            return stem
    return None


def _is_agent(step: Step) -> bool:
    from .agents import ClarifyAgent, RefinireAgent, RouterAgent

    return isinstance(step, (RefinireAgent, RouterAgent, ClarifyAgent))


def _run_args(input_data: Any, ctx: Any, initial_input: Any) -> tuple[Any, Context | None]:
    if ctx is not None and not isinstance(ctx, Context):  # Refinire's run(input_data, initial_input)
        initial_input, ctx = ctx, None
    if input_data is None and initial_input is not None:
        input_data = initial_input
    return input_data, ctx

