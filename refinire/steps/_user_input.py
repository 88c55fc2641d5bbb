"""``UserInputStep``: a durable run waits, holding nothing, until someone answers."""

from __future__ import annotations

from typing import Any

from .._deprecated import renamed
from ..context import Context
from ..spec import StepSpec, UserInputSpec
from ._base import Step


class UserInputStep(Step):
    """Pauses a durable run until someone answers (``handle.answer(text)``, the CLI or the UI).

    The waiting run holds no worker and no process (it is a wait in Temporal, for minutes or days).
    The answer becomes the step's output and ``ctx.last_user_input``.

    Args:
        name: The step's name, shown in histories, ``pending_question`` and ``show()``.
        prompt: The question shown to whoever answers.
        next_step: The key of the step that follows; ``None`` takes the implicit rule.
        answer_timeout: Seconds to wait for an answer; then the step fails with ``AnswerTimeout``
            (the error handler decides, or the run fails). ``None`` waits indefinitely.
        timeout: Deprecated spelling of ``answer_timeout`` (seconds; warns).

    Raises:
        FlowDefinitionError: Both ``timeout`` and ``answer_timeout`` are given.
    """

    def __init__(self, name: str, prompt: str = "", next_step: str | None = None, *,
                 answer_timeout: float | None = None, timeout: float | None = None) -> None:
        super().__init__(name, next_step)
        self.prompt = prompt
        self.answer_timeout = renamed(type(self).__name__, name, "timeout", "answer_timeout", timeout,
                                      answer_timeout, "seconds to wait for an answer")

    def _spec(self, key: str, next_key: str | None) -> StepSpec:
        return UserInputSpec(key=key, name=self.name, next=next_key, prompt=self.prompt,
                             answer_timeout_s=self.answer_timeout)

    async def run_async(self, user_input: Any, ctx: Context | None = None) -> Context:
        """Outside a flow, as Refinire: with input, record it and move on; without, set
        ``awaiting_prompt``/``awaiting_user_input`` and stay (the caller feeds the answer)."""
        ctx = ctx if ctx is not None else Context()
        ctx.update_step_info(self.name)
        if user_input is None:
            ctx.awaiting_prompt = self.prompt
            ctx.awaiting_user_input = True
            ctx.routing_result = {**(ctx.routing_result or {}), "needs_user_input": True,
                                  "prompt": self.prompt, "step_name": self.name}
            if ctx._awaiting_prompt_event is not None:
                ctx._awaiting_prompt_event.set()
            return ctx
        ctx.add_user_message(str(user_input))
        ctx.result = user_input
        ctx.awaiting_prompt = None
        ctx.awaiting_user_input = False
        return self._route_on(ctx)
