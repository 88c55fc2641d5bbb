"""Refinire's interactive surface of a ``Flow``: ``step()`` runs the next step in this process on
``flow.context`` (a debugging aid, not durable); ``run_loop`` runs durably while ``feed`` answers its
questions and ``next_prompt`` shows the one it waits on; a background task runs ``run_loop``;
``reset`` and ``stop`` end it all."""

from __future__ import annotations

import asyncio
from typing import Any

from ._sync import blocking
from .context import TERMINAL_LABELS, Context


class InteractiveMixin:
    """``Flow``'s in-process stepping, interactive runs, background task, ``reset`` and ``stop``."""

    context: Context
    last_run_id: str | None
    last_result: Any
    _background: asyncio.Task | None
    _stopped: bool

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
