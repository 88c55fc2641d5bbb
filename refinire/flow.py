"""``Flow``: the builder users write. It holds the callables; ``spec`` is what Temporal sees."""

from __future__ import annotations

import sys
import time
import uuid
from typing import Any, Callable

from . import _registry
from ._compile import auto_name, compile_flow, normalize
from .context import Context
from .errors import FlowDefinitionError
from .spec import END, FlowSpec, HistoryBudget, RetrySpec, StepOptions
from .steps import ParallelStep, Step

__all__ = ["Flow"]

ErrorHandler = Callable[[BaseException, Context], "str | None"]


class Flow:
    """A durable workflow: compiled to a ``FlowSpec`` and run by Temporal's ``FlowWorkflow``.

    Forms: ``Flow({"a": s1, "b": s2})``, ``Flow(start="a", steps={...})``, ``Flow(steps=[s1, s2])``,
    ``Flow(steps=step)``.
    """

    END = END

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
        timeout: float | None = None,
        local: bool = False,
        history_budget: HistoryBudget | None = None,
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
        self._defaults = StepOptions(retry=retry, start_to_close_s=timeout, local=local)
        if history_budget is not None and not isinstance(history_budget, HistoryBudget):
            raise FlowDefinitionError(
                f"Flow {name or '(unnamed)'!r}: history_budget={history_budget!r}; pass "
                "HistoryBudget(max_events=..., max_bytes=...).")
        self._history_budget = history_budget
        self._spec = self._compile()
        self.trace_id = trace_id or f"{name or 'flow'}_{time.strftime('%Y%m%d_%H%M%S')}_{uuid.uuid4().hex[:8]}"
        self.context = context or Context(trace_id=self.trace_id, next_label=self.start)
        self.last_run_id: str | None = None
        self.last_result: Any = None

    # Definition ---------------------------------------------------------------------------
    def _compile(self) -> FlowSpec:
        spec = compile_flow(self.name, self.start, self._steps, max_steps=self.max_steps,
                            has_error_handler=self._error_handler is not None,
                            defaults=self._defaults, history_budget=self._history_budget)
        self._hash_name = auto_name(spec, self._steps, self._module)
        return spec.model_copy(update={"name": self.durable_name})

    @property
    def durable_name(self) -> str:
        """The name runs, task queues and the UI use: ``name=``, else ``<variable>-<hash>``.

        The variable is the module-level name the flow is bound to, found once it exists; the hash
        covers the module, the graph and the step functions, so it is the same in every process
        running the same code and differs between unrelated flows that share a variable name.
        Once registered, the name this process registered it under (see ``register``).
        """
        if self.name:
            return self.name
        if self._registered_name:
            return self._registered_name
        if self._variable is None:
            module = sys.modules.get(self._module or "")
            for var, value in vars(module).items() if module else ():
                if value is self:
                    self._variable = var
                    break
        prefix = self._variable or "flow"
        return f"{prefix}-{self._hash_name.removeprefix('flow-')}"

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

    def get_possible_routes(self, step_name: str) -> list[str]:
        if step_name not in self._spec.steps:
            raise FlowDefinitionError(
                f"Flow {self.durable_name!r} has no step {step_name!r}. Known steps: {list(self._spec.steps)!r}"
            )
        return self._spec.targets(step_name)

    def get_flow_summary(self) -> dict[str, Any]:
        spec = self.spec
        return {
            "flow_name": self.durable_name,
            "trace_id": self.trace_id,
            "start_step": self.start,
            "step_count": len(spec.steps),
            "steps": {k: s.kind for k, s in spec.steps.items()},
            "max_steps": self.max_steps,
            "last_run_id": self.last_run_id,
        }

    def reset(self) -> None:
        self.context = Context(trace_id=self.trace_id, next_label=self.start)
        self.last_result = None

    # Running -----------------------------------------------------------------------------
    async def run(self, input_data: Any = None, ctx: Context | None = None, *,
                  run_id: str | None = None) -> Any:
        """Run as a durable Temporal workflow and return its output (with the run's context).

        With ``run_id`` of an existing run, attach to it instead of starting another.
        """
        from client.runner import run_flow

        return await run_flow(self, input_data, ctx, run_id=run_id)

    async def start_run(self, input_data: Any = None, ctx: Context | None = None, *,
                    run_id: str | None = None) -> Any:
        """Start a run without waiting; returns a handle (``await handle.result()``)."""
        from client.runner import start_flow

        return await start_flow(self, input_data, ctx, run_id=run_id)

    async def run_loop(self, input_data: Any = None, ctx: Context | None = None, *,
                       run_id: str | None = None) -> Any:
        """Run interactively: each question the run waits on is answered with ``feed(text)``."""
        from client.handle import run_loop

        return await run_loop(self, input_data, ctx, run_id=run_id)

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

    def __repr__(self) -> str:
        return f"Flow({self.durable_name!r}, steps={list(self._steps)!r})"
