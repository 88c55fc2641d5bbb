"""Refinire's views of a ``Flow``: its state (``next_step_name``, ``finished``, ``flow_id``,
``get_flow_summary``, ...), its hooks around steps, and its entry in the trace registry."""

from __future__ import annotations

from typing import Any, Callable

from .context import Context
from .errors import FlowDefinitionError

HOOK_TYPES = ("before_step", "after_step", "error")


class RefinireViewsMixin:
    """``Flow``'s Refinire-compatible state, hooks and trace registration."""

    context: Context
    trace_id: str
    before_step_hooks: list[Callable[[str, Context], Any]]
    after_step_hooks: list[Callable[[str, Context, Any], Any]]
    error_hooks: list[Callable[[str, Context, BaseException], Any]]

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

    def _register_trace(self) -> None:
        from .observability import get_global_registry

        try:
            agents = [s.name for s in self._spec.steps.values() if s.kind in ("agent", "router", "clarify")]
            get_global_registry().register_trace(self.trace_id, flow_name=self.name,
                                                 flow_id=self.flow_id, agent_names=agents,
                                                 tags={"flow_type": "default"})
        except Exception:
            pass
