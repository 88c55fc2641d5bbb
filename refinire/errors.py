"""Errors users catch. Both keep the names a user needs to find the culprit."""

from __future__ import annotations

__all__ = ["FlowDefinitionError", "FlowExecutionError", "NonRetryableError"]


class FlowDefinitionError(ValueError):
    """A Flow that cannot run as written; raised when the Flow is built, before anything starts.

    It is a ``ValueError`` so that code written for Refinire's own Flow keeps catching it.
    """


class FlowExecutionError(Exception):
    """A run that failed. The run itself stays in Temporal, inspectable and re-runnable by its id."""

    def __init__(
        self,
        message: str,
        *,
        flow_name: str | None = None,
        run_id: str | None = None,
        step: str | None = None,
        cause_type: str | None = None,
        cause_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.flow_name = flow_name
        self.run_id = run_id
        self.step = step
        self.cause_type = cause_type
        self.cause_message = cause_message


class NonRetryableError(Exception):
    """Raise from a step to fail it at once: Temporal does not retry it, the error handler still runs."""
