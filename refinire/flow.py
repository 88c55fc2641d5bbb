"""``Flow``: the builder users write. It holds the callables; ``spec`` is what Temporal sees.

The class is here with its construction, compilation and drawing; the rest is mixed in from private
modules, one job each: naming (``_flow_naming``), durable runs (``_flow_running``), Refinire's
interactive surface (``_flow_interactive``) and Refinire's views and hooks (``_flow_compat``).
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from typing import Any, Callable

from ._compile import _label, auto_name, compile_flow, normalize
from ._deprecated import renamed
from ._flow_compat import HOOK_TYPES, RefinireViewsMixin  # noqa: F401 (HOOK_TYPES: importable here too)
from ._flow_interactive import InteractiveMixin
from ._flow_naming import NamingMixin, importable_module_name  # noqa: F401 (importable here too)
from ._flow_running import RunningMixin
from .context import Context
from .errors import FlowDefinitionError
from .spec import END, FlowSpec, HistoryBudget, RetrySpec, StepOptions
from .steps import STEP_TIMEOUT_MEANING, ParallelStep, Step, retry_spec

__all__ = ["Flow"]

ErrorHandler = Callable[[BaseException, Context], "str | None"]


class Flow(NamingMixin, RunningMixin, InteractiveMixin, RefinireViewsMixin):
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
        retry = retry_spec(retry, _label(name))
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

    def __str__(self) -> str:
        return f"Flow(start={self.start}, steps={len(self._steps)}, finished={self.finished})"

    def __repr__(self) -> str:
        return f"Flow({self.durable_name!r}, start={self.start!r}, steps={list(self._steps)!r}, finished={self.finished})"
