"""Errors users catch. Every one keeps the names a user needs to find the culprit.

Refinire's own exception types live here too (``RefinireError`` and its family), so code written
for Refinire that catches them keeps catching what we raise: ``FlowExecutionError`` is a
``RefinireError``, and its message keeps Refinire's phrases ("Error executing step ...",
"Flow exceeded maximum steps (N)") beside ours (run id, culprit, fix).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "FlowDefinitionError",
    "FlowExecutionError",
    "NonRetryableError",
    "RefinireAPIError",
    "RefinireAuthenticationError",
    "RefinireConfigurationError",
    "RefinireConnectionError",
    "RefinireError",
    "RefinireModelError",
    "RefinireNetworkError",
    "RefinireRateLimitError",
    "RefinireTimeoutError",
    "RefinireValidationError",
]


class RefinireError(Exception):
    """Base of every Refinire error: ``message``, ``details`` (dict) and ``provider``.

    Args:
        message: What went wrong.
        details: Extra facts about the failure.
        provider: The model provider involved, if any (shown after the message).
    """

    def __init__(self, message: str, details: dict[str, Any] | None = None,
                 provider: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}
        self.provider = provider

    def __str__(self) -> str:
        return f"{self.message} (Provider: {self.provider})" if self.provider else self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(message={self.message!r}, provider={self.provider!r})"


class RefinireNetworkError(RefinireError):
    """The model provider could not be reached (``error_type``: connection, timeout, ...)."""

    def __init__(self, message: str, details: dict[str, Any] | None = None,
                 provider: str | None = None, error_type: str | None = None) -> None:
        super().__init__(message, details, provider)
        self.error_type = error_type


class RefinireConnectionError(RefinireNetworkError):
    """No connection to the model provider."""

    def __init__(self, message: str, details: dict[str, Any] | None = None,
                 provider: str | None = None) -> None:
        super().__init__(message, details, provider, "connection")


class RefinireTimeoutError(RefinireNetworkError):
    """The model provider did not answer in time (``timeout_duration`` in seconds)."""

    def __init__(self, message: str, details: dict[str, Any] | None = None,
                 provider: str | None = None, timeout_duration: float | None = None) -> None:
        super().__init__(message, details, provider, "timeout")
        self.timeout_duration = timeout_duration


class RefinireAuthenticationError(RefinireError):
    """Credentials were missing or refused."""


class RefinireRateLimitError(RefinireError):
    """The provider asked us to slow down (``retry_after`` in seconds)."""

    def __init__(self, message: str, details: dict[str, Any] | None = None,
                 provider: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, details, provider)
        self.retry_after = retry_after


class RefinireAPIError(RefinireError):
    """The provider answered with an error (``status_code``)."""

    def __init__(self, message: str, details: dict[str, Any] | None = None,
                 provider: str | None = None, status_code: int | None = None) -> None:
        super().__init__(message, details, provider)
        self.status_code = status_code


class RefinireModelError(RefinireError):
    """The model named does not exist or cannot be used (``model_name``)."""

    def __init__(self, message: str, details: dict[str, Any] | None = None,
                 provider: str | None = None, model_name: str | None = None) -> None:
        super().__init__(message, details, provider)
        self.model_name = model_name


class RefinireConfigurationError(RefinireError):
    """Something in the configuration (``config_key``) is wrong."""

    def __init__(self, message: str, details: dict[str, Any] | None = None,
                 provider: str | None = None, config_key: str | None = None) -> None:
        super().__init__(message, details, provider)
        self.config_key = config_key


class RefinireValidationError(RefinireError):
    """A value (``field_name``) failed validation."""

    def __init__(self, message: str, details: dict[str, Any] | None = None,
                 provider: str | None = None, field_name: str | None = None) -> None:
        super().__init__(message, details, provider)
        self.field_name = field_name


class FlowDefinitionError(ValueError):
    """A Flow that cannot run as written; raised when the Flow is built, before anything starts.

    It is a ``ValueError`` so that code written for Refinire's own Flow keeps catching it.
    """


_MAX_STEPS = re.compile(r"max_steps=(\d+)")


def _refinire_wording(message: str, step: str | None, cause_type: str | None) -> str:
    """Lead with Refinire's phrase for the same failure, so code matching it keeps working."""
    if cause_type == "MaxStepsExceeded":
        found = _MAX_STEPS.search(message)
        limit = found.group(1) if found else "?"
        prefix = f"Flow exceeded maximum steps ({limit})"
    elif step:
        prefix = f"Error executing step {step}"
    else:
        return message
    return message if message.startswith(prefix) else f"{prefix}: {message}"


class FlowExecutionError(RefinireError):
    """A run that failed. The run itself stays in Temporal, inspectable and re-runnable by its id.

    A ``RefinireError``, as the step failures Refinire's own ``Flow.run`` raised were.

    Args:
        message: Our message (culprit and fix); Refinire's phrase is put in front of it.
        flow_name: The flow's durable name.
        run_id: The run (Temporal workflow id).
        step: The step that failed.
        cause_type: The type name of the step's own exception.
        cause_message: The step's own message.
    """

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
        message = _refinire_wording(message, step, cause_type)
        super().__init__(message, {"flow_name": flow_name, "run_id": run_id, "step": step,
                                   "cause_type": cause_type, "cause_message": cause_message})
        self.flow_name = flow_name
        self.run_id = run_id
        self.step = step
        self.cause_type = cause_type
        self.cause_message = cause_message

    def __reduce__(self) -> Any:
        return (_rebuild_execution_error, (self.message, self.flow_name, self.run_id, self.step,
                                           self.cause_type, self.cause_message))


def _rebuild_execution_error(message: str, flow_name: str | None, run_id: str | None,
                             step: str | None, cause_type: str | None,
                             cause_message: str | None) -> FlowExecutionError:
    return FlowExecutionError(message, flow_name=flow_name, run_id=run_id, step=step,
                              cause_type=cause_type, cause_message=cause_message)


class NonRetryableError(Exception):
    """Raise from a step to fail it at once: Temporal does not retry it, the error handler still runs."""
