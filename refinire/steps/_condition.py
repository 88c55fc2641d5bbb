"""``ConditionStep``: a branch decided inside the workflow by a pure function of the context."""

from __future__ import annotations

import inspect
from typing import Any, Callable

from ..context import Context
from ..errors import FlowDefinitionError
from ..spec import ConditionSpec, StepSpec
from ._base import Step, callable_identity


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
        return callable_identity(self.condition)

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
