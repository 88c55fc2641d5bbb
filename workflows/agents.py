"""Agent steps on the workflow side (RefinireAgent, RouterAgent, ClarifyAgent, UserInputStep).

The model calls are activities; the loops and decisions between them live here.
"""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from refinire.context import Context
    from refinire.spec import FlowSpec


class PendingQuestion(BaseModel):
    step: str
    question: str


class Answer(BaseModel):
    text: str
    step: str | None = None


class AnswerAccepted(BaseModel):
    step: str


class Waits:
    """Questions a run is waiting on, answered through the workflow's ``answer`` update."""

    def __init__(self) -> None:
        self.pending: PendingQuestion | None = None

    def validate(self, answer: Answer) -> None:
        raise ValueError("This run is not waiting for an answer.")

    def deliver(self, answer: Answer) -> AnswerAccepted:
        raise ValueError("This run is not waiting for an answer.")


async def run_agent_kind(spec: FlowSpec, step, ctx: Context, visit: int, waits: Waits,
                         parent: str | None = None) -> tuple[Context, str | None]:
    raise ApplicationError(
        f"Flow {spec.name!r}: step {step.key!r} is a {step.kind} step, which this build cannot run yet.",
        type="UnsupportedStep", non_retryable=True)
