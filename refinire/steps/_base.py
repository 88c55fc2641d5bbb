"""The ``Step`` base class every step derives from, and the options helper the step classes share."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from ..context import Context
from ..spec import CustomSpec, RetrySpec, StepOptions, StepSpec


HOME = "refinire.steps"
"""The public module of the step classes, and the path their identities name."""

STEP_TIMEOUT_MEANING = "seconds one attempt of the step may run before Temporal ends it and retries"


def known_module(obj: Any) -> Any:
    """The module path an identity names for ``obj``: its ``__module__``, except that what this
    package's private modules define is named ``refinire.steps``, where it lived as one module.

    An unnamed flow's durable name hashes these identities (``auto_name``), so the path must not
    change with the files: a new path would move runs in flight to a name no worker serves.
    """
    module = getattr(obj, "__module__", "")
    return HOME if isinstance(module, str) and module.startswith(HOME + ".") else module


def callable_identity(fn: Any) -> str:
    """A function's identity for ``auto_name``: ``module.qualname`` (see ``known_module``)."""
    return f"{known_module(fn)}.{getattr(fn, '__qualname__', type(fn).__name__)}"


def retry_spec(retry: RetrySpec | int | None, who: str) -> RetrySpec | None:
    """``retry=`` as given to a step, an agent or ``Flow`` (``who`` names it) → a ``RetrySpec``.

    An ``int`` is ``RetrySpec(max_attempts=n)``, but ``0`` is refused: Temporal reads 0 attempts as
    "no limit", so a user who meant "no retries" would get a step retried forever.
    """
    if isinstance(retry, int) and not isinstance(retry, bool):
        if retry == 0:
            from ..errors import FlowDefinitionError

            raise FlowDefinitionError(
                f"{who}: retry=0 would retry the step without limit (Temporal reads 0 attempts as no "
                "limit), not 'no retries'. retry=1 is a single attempt; for no limit use "
                "RetrySpec(max_attempts=0)."
            )
        return RetrySpec(max_attempts=retry)
    return retry


def _options(retry: RetrySpec | int | None, step_timeout: float | None, local: bool | None,
             heartbeat: float | None, who: str) -> StepOptions:
    return StepOptions(retry=retry_spec(retry, who), start_to_close_s=step_timeout, local=local,
                       heartbeat_s=heartbeat)


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
        return f"{known_module(type(self))}.{type(self).__qualname__}"

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
