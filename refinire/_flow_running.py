"""How a ``Flow`` runs durably: ``run`` and ``start_run`` hand the flow to the client (the
documented seam ``client.api``), and the context a run starts from."""

from __future__ import annotations

from typing import Any

from .context import Context


class RunningMixin:
    """``Flow``'s durable runs: ``run``, ``start_run`` and the context each run starts from."""

    start: str
    trace_id: str
    context: Context
    _initial_context: Context | None

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


def _run_args(input_data: Any, ctx: Any, initial_input: Any) -> tuple[Any, Context | None]:
    if ctx is not None and not isinstance(ctx, Context):  # Refinire's run(input_data, initial_input)
        initial_input, ctx = ctx, None
    if input_data is None and initial_input is not None:
        input_data = initial_input
    return input_data, ctx
