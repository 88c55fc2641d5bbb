"""Steps that run a function in an activity: ``FunctionStep``, and ``DebugStep`` built on it."""

from __future__ import annotations

from typing import Any, Callable

from .._deprecated import renamed
from ..calls import apply_output, call_kind, invoke
from ..context import Context
from ..errors import FlowDefinitionError
from ..spec import FunctionSpec, RetrySpec, StepSpec
from ._base import STEP_TIMEOUT_MEANING, Step, _options, callable_identity


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
        self.options = _options(retry, step_timeout, local, heartbeat, f"{type(self).__name__} {name!r}")

    def _spec(self, key: str, next_key: str | None) -> StepSpec:
        kind = call_kind(self.function)
        assert kind is not None  # checked at compile time with the flow's name in the message
        return FunctionSpec(key=key, name=self.name, next=next_key, options=self.options, call=kind)

    def _identity(self) -> str:
        return callable_identity(self.function)

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
