"""A run that waits for a person: the pending question and the answers delivered by Update.

A waiting run holds no worker: it is a ``workflow.wait_condition`` that Temporal wakes when the
``answer`` update arrives (from Python, the CLI or the Temporal UI) or when the wait times out.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Callable

from pydantic import BaseModel
from temporalio import workflow
from temporalio.exceptions import ApplicationError

from . import search
from .formats import answer_timeout_summary


class PendingQuestion(BaseModel):
    step: str
    """Key of the waiting step."""
    name: str = ""
    """Name of the waiting step, as users see it."""
    question: str
    kind: str = "clarify"
    """``clarify`` (a ClarifyAgent with ``wait_for_answer=True``) or ``user_input``."""
    turn: int = 1
    asked_at: str | None = None
    timeout_s: float | None = None


class Answer(BaseModel):
    text: str
    step: str | None = None
    """Optional: the key or name of the step this answers; rejected if that step is not waiting."""


class AnswerAccepted(BaseModel):
    step: str
    name: str = ""
    question: str = ""


def _reject(message: str) -> ApplicationError:
    return ApplicationError(message, type="AnswerRejected", non_retryable=True)


class Waits:
    """The question a run is waiting on (at most one at a time) and the answer that ends the wait."""

    def __init__(self) -> None:
        self.pending: PendingQuestion | None = None
        self._answer: str | None = None
        self.search_attributes = False
        self.format = 1
        self.drawing: Callable[[str | None], str] | None = None
        """Format 3: the flow drawn with a step marked, for the current details."""

    def _details(self, text: str, step_key: str | None) -> None:
        if self.drawing is not None:
            text += f"\n\n```\n{self.drawing(step_key)}\n```"
        workflow.set_current_details(text)

    def validate(self, answer: Answer) -> None:
        pending = self.pending
        if pending is None:
            raise _reject("This run is not waiting for an answer: no question is pending (it was already "
                          "answered, timed out, or the run has no waiting step). `refinire-flow show RUN_ID` "
                          "shows what a run waits for (the 'pending_question' query, from code).")
        if answer.step and answer.step not in (pending.step, pending.name):
            raise _reject(f"Step {answer.step!r} is not waiting for an answer. The pending question is "
                          f"from step {pending.name or pending.step!r}: {pending.question!r}")
        if not (answer.text or "").strip():
            raise _reject(f"An empty answer was rejected. Answer the question of step "
                          f"{pending.name or pending.step!r} with some text: {pending.question!r}")

    def deliver(self, answer: Answer) -> AnswerAccepted:
        self.validate(answer)
        pending = self.pending
        assert pending is not None
        self._answer = answer.text.strip()
        self.pending = None
        return AnswerAccepted(step=pending.step, name=pending.name, question=pending.question)

    async def ask(self, step_key: str, step_name: str, question: str, *, kind: str, turn: int = 1,
                  timeout_s: float | None = None) -> str | None:
        """Wait for an answer; ``None`` when ``timeout_s`` passes first."""
        self._answer = None
        self.pending = PendingQuestion(step=step_key, name=step_name, question=question, kind=kind,
                                       turn=turn, asked_at=workflow.now().isoformat(), timeout_s=timeout_s)
        self._details(f"Step **{step_name}** is waiting for an answer: {question}", step_key)
        if self.search_attributes:
            search.upsert_state("Waiting", step_name)
        try:
            await workflow.wait_condition(
                lambda: self._answer is not None,
                timeout=timedelta(seconds=timeout_s) if timeout_s else None,
                timeout_summary=answer_timeout_summary(step_name) if timeout_s else None,
            )
        except asyncio.TimeoutError:
            self.pending = None
            self._resumed(step_key, step_name, kind)
            return None
        except GeneratorExit:
            raise  # the coroutine of an instance never evicted, collected outside its workflow: no commands
        except BaseException:
            self._resumed(step_key, step_name, kind)
            raise
        self._resumed(step_key, step_name, kind)
        text, self._answer = self._answer, None
        return text

    def _resumed(self, step_key: str, step_name: str, kind: str) -> None:
        self._details(f"Step **{step_name}** ({kind}), answered or timed out", step_key)
        if self.search_attributes:
            search.resumed(self.format, step_name)
