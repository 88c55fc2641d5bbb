"""``Flow``: the builder users write. It holds the callables; ``spec`` is what Temporal sees."""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from typing import Any, Callable

from . import registry
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

    You write plain Python steps; every ``run`` is a Temporal workflow that survives crashes, can be
    replayed and re-run from a step, and is visible in the Temporal UI. The flow is validated and
    compiled when it is built, so a mistake fails here, not in the middle of a run.

    Forms: ``Flow({"a": s1, "b": s2})`` (the first key starts), ``Flow(start="a", steps={...})``,
    ``Flow(steps=[s1, s2])`` (in order), ``Flow(steps=step)``. A dict value is a step or a parallel
    block ``{"parallel": [steps], "next_step": key, "max_workers": n, "merge": {...}}``. A step
    without explicit routing goes to the next key that is not a branch target.

    Args:
        start: The start key, or the steps themselves (a dict, list or single step) given first.
        steps: The steps: a dict ``{key: step}`` (keys are routing labels; renaming a key breaks
            runs in flight that reach it), a list, or one step.
        context: The context every run starts from (copied per run); default a fresh ``Context``.
        max_steps: Steps one run may take (counted across the whole run) before it fails with
            ``FlowExecutionError``; bounds loops.
        trace_id: The trace id runs and ``get_global_registry()`` record; default
            ``<name or "flow">_<time>_<random>``.
        name: The flow's durable name: its task queue (``refinire.<name>``), what runs, the CLI
            and the UI call it. Without it the name is ``module:variable`` of the module-level
            variable holding the flow. Renaming (or moving the variable) puts new runs on
            another queue: runs in flight stay on the old name and need a worker serving it.
        retry: Every step's default retries: attempts (``int``) or a ``RetrySpec``; default 3
            attempts, 0.5 s then doubling (agents: 5 attempts from 1 s).
        step_timeout: Every step's default limit in seconds for one attempt (Temporal's
            start-to-close); default 600 s.
        local: Run steps as Temporal local activities by default (a few ms per step instead of
            a round trip through the server; no heartbeats); a step's own ``local=`` wins.
        history_budget: When a long run continues as new (see ``HistoryBudget``); default when
            Temporal suggests it.
        timeout: Deprecated spelling of ``step_timeout`` (seconds; warns). ``timeout`` means an
            agent's model-call timeout.

    Raises:
        FlowDefinitionError: The flow cannot run as written: no steps, ``steps`` as a dict without
            ``start``, an unknown routing target, a value that is not a step, duplicate branch
            names, a bad ``history_budget``, or both ``timeout`` and ``step_timeout``. The message
            names the culprit and lists the known steps. (A ``ValueError``.)

    Example:
        flow = Flow({
            "set_age": FunctionStep("set_age", set_age),
            "age_check": ConditionStep("age_check", lambda ctx: ctx.shared_state["age"] >= 18,
                                       "adult", "minor"),
            "adult": FunctionStep("adult", lambda data, ctx: "You can access adult services"),
            "minor": FunctionStep("minor", lambda data, ctx: "Please use services for minors"),
        }, retry=5, step_timeout=60)
        result = await flow.run("25")
    """

    END = END
    """A routing target that ends the flow (``next_step=Flow.END``, a condition's branch)."""
    TERMINATE = "_FLOW_TERMINATE_"
    """Refinire's other ending label; ends the flow like ``END``."""
    FINISH = "_FLOW_FINISH_"
    """Refinire's other ending label; ends the flow like ``END``."""

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
        """The compiled graph; recompiled on each access so later edits to the steps are seen.

        Raises:
            FlowDefinitionError: An edit made the flow invalid (a step's function no longer callable
                in a known form, a target that does not exist).
        """
        self._spec = self._compile()
        return self._spec

    def set_error_handler(self, handler: ErrorHandler | None) -> None:
        """Decide what happens when a step still fails after its retries.

        ``handler(error, ctx)`` runs in the workflow (like a condition: a pure function of its
        arguments, no I/O, clock or randomness; it may write ``ctx.shared_state``). ``error`` is the
        step's own exception (the user's class with its args and attributes when this process has
        it, else a ``StepError`` of the same name). A cancelled run never calls it.

        Args:
            handler: Returns a step key to continue there with the failed step's input, or ``None``
                to fail the run with ``FlowExecutionError``. ``None`` removes the handler.

        Raises:
            FlowDefinitionError: ``handler`` is not callable.
        """
        if handler is not None and not callable(handler):
            raise FlowDefinitionError(f"Flow {self.durable_name!r}: the error handler must be callable.")
        self._error_handler = handler
        self._spec = self._compile()

    @property
    def error_handler(self) -> ErrorHandler | None:
        """The handler given to ``set_error_handler`` (``None`` when there is none)."""
        return self._error_handler

    def step_object(self, key: str, branch: str | None = None) -> Step | None:
        """The live step for a key (and branch of a parallel block), as the worker's code has it.

        Args:
            key: The step's key in the flow's dict.
            branch: A branch's name inside the parallel block at ``key``.

        Returns:
            The step object, or ``None`` when this code has no such step.
        """
        step = self._steps.get(key)
        if branch is None or step is None:
            return step
        if isinstance(step, ParallelStep):
            return next((b for b in step.steps if b.name == branch), None)
        return None

    # Refinire compatibility ---------------------------------------------------------------
    @property
    def next_step_name(self) -> str | None:
        """The key the flow's context goes to next (before a run: the start key)."""
        return self.context.next_label

    @property
    def current_step_name(self) -> str | None:
        """The step the flow's context is at (``None`` before a run)."""
        return self.context.current_step

    @property
    def finished(self) -> bool:
        """Whether the flow's context is finished (after a run, or ``stop()``)."""
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
        """One entry per executed step of the last run (``step_name``, ``status``, ...), a new list."""
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

        Args:
            hook_type: ``"before_step"``, ``"after_step"`` or ``"error"``.
            callback: The hook.

        Raises:
            FlowDefinitionError: ``Unknown hook type: ...`` (a ``ValueError``), or a callback that
                is not callable.
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
        """Every step key a step can hand over to, in a stable order (what ``show()`` draws).

        Args:
            step_name: The step's key in the flow's dict.

        Returns:
            The keys (a condition's or router's targets, else the one successor; empty at the end).

        Raises:
            FlowDefinitionError: No step has that key; the message lists the known ones.
        """
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
        steps stay recorded), cancel a background task, and mark the context finished.

        The run's ``flow.run`` (or background task) then raises ``FlowCancelled``; the error
        handler is not called. Blocks until Temporal accepted the cancel.
        """
        run_id = self.last_run_id
        cancelled = False
        if run_id is not None and not (self.last_result is not None
                                       and getattr(self.last_result, "run_id", None) == run_id):
            from client.api import cancel_run

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
            agents = [s.name for s in self._spec.steps.values() if s.kind in ("agent", "router", "clarify")]
            get_global_registry().register_trace(self.trace_id, flow_name=self.name,
                                                 flow_id=self.flow_id, agent_names=agents,
                                                 tags={"flow_type": "default"})
        except Exception:
            pass

    # Running -----------------------------------------------------------------------------
    async def run(self, input_data: Any = None, ctx: Context | str | None = None, *,
                  run_id: str | None = None, initial_input: Any = None) -> Any:
        """Run as a durable Temporal workflow and return its output (with the run's context).

        Starts a ``RefinireFlow`` workflow (on ``TEMPORAL_ADDRESS``, else the embedded dev server,
        started if none listens) and hosts a worker for the flow in this process while the call
        lasts. A crash of this process loses nothing: run the script again with the same
        ``run_id`` and it continues the run instead of redoing finished steps. Every call without
        ``run_id`` is a new run with a fresh context.

        Args:
            input_data: The first step's data and ``ctx.result`` before it runs; a non-empty string
                is also the first user message. ``initial_input=`` is Refinire's older name; a
                string as the second positional argument is taken as it too.
            ctx: The run's context (default: a fresh copy of the flow's); after the run it holds
                the final state.
            run_id: The run's id (Temporal workflow id). When a run with this id exists, attach to
                it and wait for its result instead of starting another.

        Returns:
            The run's output, in a form that prints, compares, measures (``len``) and slices as the
            output itself, and also answers the final context's fields (``result.shared_state``,
            ``result.evaluation_result``, ...) plus ``run_id``, ``flow_name`` and ``ui_url``.

        Raises:
            FlowExecutionError: The run failed: a step failed after its retries and no error
                handler took over, a condition raised, ``max_steps`` was exceeded, or Temporal
                could not be reached. Carries ``run_id``, ``step``, ``cause_type``,
                ``cause_message`` and ``cause`` (the step's own exception); the run stays in
                Temporal, inspectable (``show``) and re-runnable (``refinire-flow rerun``).
            FlowCancelled: The run was cancelled (``handle.cancel()``, ``refinire-flow cancel``,
                ``flow.stop()``, the UI). A ``FlowExecutionError``: catch it first.

        Example:
            try:
                result = await flow.run("25")
            except FlowCancelled:
                print("cancelled")
            except FlowExecutionError as err:
                print(err.run_id, err.step, err.cause_type, err.cause_message)
            else:
                print(result, result.shared_state, result.ui_url)
        """
        from client.api import run_flow

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
        """Start a run for a worker elsewhere and return at once, to follow, answer or cancel it.

        Unlike ``run``, this process hosts no worker: a worker serving the flow
        (``refinire-flow worker MODULE``, ``python worker.py MODULE``) executes the run, and
        ``await handle.result()`` waits for its end.

        Args:
            input_data: The first step's data, as for ``run``.
            ctx: The run's context, as for ``run``.
            run_id: The run's id; an existing run with this id is attached to.

        Returns:
            A run handle: ``id``, ``await result()`` (as ``run`` returns), ``await answer(text)``,
            ``await pending_question()``, ``await wait_for_question(timeout)`` (seconds),
            ``await cancel()`` and Temporal's ``WorkflowHandle`` methods.

        Raises:
            FlowExecutionError: The run could not be started (Temporal unreachable, input too
                large). ``handle.result()`` raises as ``run`` does.
        """
        from client.api import start_flow

        return await start_flow(self, input_data, self._run_context(input_data, ctx), run_id=run_id)

    async def run_loop(self, input_data: Any = None, ctx: Context | None = None, *,
                       run_id: str | None = None) -> Any:
        """Run interactively: each question the run waits on is answered with ``feed(text)``.

        For flows with ``UserInputStep`` or ``ClarifyAgent(wait_for_answer=True)``: while the run
        waits, ``next_prompt()`` is its question; ``feed(text)`` answers it.

        Args:
            input_data: The first step's data, as for ``run``.
            ctx: The run's context, as for ``run``.
            run_id: The run's id; an existing run with this id is attached to.

        Returns:
            What ``run`` returns.

        Raises:
            FlowExecutionError: As for ``run``.
            FlowCancelled: As for ``run``.
        """
        from client.api import run_loop

        return await run_loop(self, input_data, self._run_context(input_data, ctx), run_id=run_id)

    def feed(self, text: str) -> None:
        """Queue an answer for the next question of ``run_loop`` (answers are used in order).

        Args:
            text: The answer; it becomes the waiting step's output.
        """
        from client.api import feed

        feed(self, text)

    def next_prompt(self) -> str | None:
        """The question the run of ``run_loop`` waits on now; ``None`` when it waits on none."""
        from client.api import next_prompt

        return next_prompt(self)

    def show(self, format: str = "mermaid", include_history: bool = False, *,
             run_id: str | None = None) -> str:
        """Draw the flow, and optionally one of its runs, as text or a Mermaid flowchart.

        The drawing comes from the compiled spec (children in declaration order, the same in every
        process). A run is read from Temporal's event history, so it can be drawn from any process
        after any crash: steps in order with times, durations, attempts, failures and decisions.

        Args:
            format: ``"mermaid"`` (default) or ``"text"``.
            include_history: Overlay the last run of this Flow object.
            run_id: Overlay this run instead (any run of the flow, from any process).

        Returns:
            The drawing.

        Raises:
            ValueError: ``Unsupported format: ...`` for another ``format``.
            LookupError: No run with that id in Temporal.
            FlowExecutionError: Temporal could not be reached to read the run.

        Example:
            print(flow.show(format="text"))
            print(flow.show(include_history=True))
        """
        from .rendering import check_format
        from .rendering_run import show

        check_format(format)
        target = run_id or (self.last_run_id if include_history else None)
        if target is None:
            return show(self.spec, format, include_history=include_history)
        from client.api import load_trace_sync

        return show(self.spec, format, include_history=True, trace=load_trace_sync(target))

    def register(self) -> str:
        """Make this process able to execute the flow.

        ``run`` and the workers do it; call it yourself when you build a worker by hand.
        Two unnamed flows can look alike to the hash (a factory whose lambdas capture different
        values): the second one registered in a process gets ``-2`` appended, so neither ever runs
        the other's code. The order is the program's, so a restarted script gets the same names.

        Returns:
            The name it is registered under (its durable name).
        """
        if self._registered_name and registry.get(self._registered_name) is self:
            return self._registered_name
        name = self.durable_name
        self._registered_name = registry.register(name, self, unique=not self.name)
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


def _run_args(input_data: Any, ctx: Any, initial_input: Any) -> tuple[Any, Context | None]:
    if ctx is not None and not isinstance(ctx, Context):  # Refinire's run(input_data, initial_input)
        initial_input, ctx = ctx, None
    if input_data is None and initial_input is not None:
        input_data = initial_input
    return input_data, ctx

