"""Errors users catch. Every one keeps the names a user needs to find the culprit.

Refinire's own exception types live here too (``RefinireError`` and its family), so code written
for Refinire that catches them keeps catching what we raise: ``FlowExecutionError`` is a
``RefinireError``, and its message keeps Refinire's phrases ("Error executing step ...",
"Flow exceeded maximum steps (N)") beside ours (run id, culprit, fix).
"""

from __future__ import annotations

import builtins
import re
from typing import Any

from .loaded import find_loaded

__all__ = [
    "FlowCancelled",
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
    "SettingError",
    "StepError",
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


class SettingError(RefinireConfigurationError, ValueError):
    """An environment variable (``config_key``) holds a value the setting cannot take; the message
    names the variable, its value, what it may be and its default.

    A ``ValueError`` too, so code that caught one from a bad setting keeps catching it.
    """


class RefinireValidationError(RefinireError):
    """A value (``field_name``) failed validation."""

    def __init__(self, message: str, details: dict[str, Any] | None = None,
                 provider: str | None = None, field_name: str | None = None) -> None:
        super().__init__(message, details, provider)
        self.field_name = field_name


class FlowDefinitionError(ValueError):
    """A Flow that cannot run as written; raised when the Flow is built, before anything starts.

    Raised by ``Flow(...)``, the step and agent constructors and ``set_error_handler``: unknown
    routing targets, duplicate branch names, a value that is not a step, an empty flow, a bad
    option. The message names the culprit with its key, says what is wrong, gives the fix and
    lists the steps that exist. Nothing has run, so nothing needs cleaning up.

    It is a ``ValueError`` so that code written for Refinire's own Flow keeps catching it.

    Example:
        try:
            Flow({"a": FunctionStep("a", f, next_step="b")})
        except FlowDefinitionError as err:
            print(err)  # names 'b' and lists the known steps ['a']
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

    Raised by ``flow.run`` (and ``handle.result()``, ``run_loop``) when a step failed after its
    retries and no error handler took over, a condition raised, ``max_steps`` was exceeded, or
    Temporal could not be reached. ``refinire-flow show RUN_ID`` draws the run;
    ``refinire-flow rerun RUN_ID --from STEP`` re-runs it from a step, reusing earlier outputs.
    A ``RefinireError``, as the step failures Refinire's own ``Flow.run`` raised were.

    Args:
        message: Our message (culprit and fix); Refinire's phrase is put in front of it.
        flow_name: The flow's durable name.
        run_id: The run (Temporal workflow id).
        step: The step that failed.
        cause_type: The type name of the step's own exception.
        cause_message: The step's own message.
        cause: The step's own exception, rebuilt (see ``rebuild_exception``), when known.

    Example:
        try:
            await flow.run(x)
        except FlowExecutionError as err:
            print(err.run_id, err.step, err.cause_type, err.cause_message)
            if isinstance(err.cause, QuotaExceeded):
                ...
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
        cause: BaseException | None = None,
    ) -> None:
        message = _refinire_wording(message, step, cause_type)
        super().__init__(message, {"flow_name": flow_name, "run_id": run_id, "step": step,
                                   "cause_type": cause_type, "cause_message": cause_message})
        self.flow_name = flow_name
        self.run_id = run_id
        self.step = step
        self.cause_type = cause_type
        self.cause_message = cause_message
        self.cause = cause
        if cause is not None:
            self.__cause__ = cause

    def __reduce__(self) -> Any:
        return (_rebuild_execution_error, (self.message, self.flow_name, self.run_id, self.step,
                                           self.cause_type, self.cause_message))


def _rebuild_execution_error(message: str, flow_name: str | None, run_id: str | None,
                             step: str | None, cause_type: str | None,
                             cause_message: str | None) -> FlowExecutionError:
    return FlowExecutionError(message, flow_name=flow_name, run_id=run_id, step=step,
                              cause_type=cause_type, cause_message=cause_message)


class FlowCancelled(FlowExecutionError):
    """The run was cancelled (``handle.cancel()``, ``refinire-flow cancel``, ``flow.stop()``, the
    Temporal UI): it ended CANCELED, its running step was cancelled and the error handler was not
    called.

    A ``FlowExecutionError`` with the same fields (``run_id``, ``step``: the step that was running);
    catch it before ``FlowExecutionError`` to tell a cancel from a failure.
    """


class StepError(Exception):
    """Stands in for a step's exception whose class this process cannot find (``sys.modules`` has
    no ``module``, or the class is not there): same message and attributes, and the original
    ``type_name``, ``module`` and ``message``. ``type(err).__name__`` is the original name."""

    type_name: str = ""
    module: str = ""
    message: str = ""


def exception_facts(exc: BaseException) -> dict[str, Any]:
    """What a step's exception is, as plain JSON: class (module, qualified name), args, attributes,
    and whether it is a ``NonRetryableError``. Values that are not JSON are given as their repr."""
    from pydantic_core import to_jsonable_python

    def plain(value: Any) -> Any:
        try:
            return to_jsonable_python(value)
        except Exception:
            return repr(value)

    cls = type(exc)
    return {"module": cls.__module__, "qualname": cls.__qualname__, "name": cls.__name__,
            "message": str(exc), "args": [plain(a) for a in exc.args],
            "attrs": {k: plain(v) for k, v in vars(exc).items() if not k.startswith("__")},
            "non_retryable": isinstance(exc, NonRetryableError)}


def rebuild_exception(facts: dict[str, Any] | None, kind: str, message: str) -> BaseException:
    """The step's own exception, as the error handler and ``FlowExecutionError.cause`` see it.

    The class is looked up among the modules this process has already imported (never imported
    because a history names it): the user's class with its args and attributes when found; a
    builtin by name; otherwise a ``StepError`` subclass named like the original (a
    ``NonRetryableError`` too when the original was one) carrying its module, message and attributes.
    """
    facts = facts or {}
    cls = find_loaded(str(facts.get("module") or ""), str(facts.get("qualname") or kind))
    if not (isinstance(cls, type) and issubclass(cls, BaseException)):
        found = getattr(builtins, kind, None)
        cls = found if isinstance(found, type) and issubclass(found, Exception) else None
    if cls is not None:
        try:
            err = cls.__new__(cls)
            err.args = tuple(facts.get("args") or [message])
            for k, v in (facts.get("attrs") or {}).items():
                setattr(err, k, v)
            return err
        except Exception:
            pass
    bases = (StepError, NonRetryableError) if facts.get("non_retryable") else (StepError,)
    stand_in = type(kind, bases, {"__module__": str(facts.get("module") or "builtins")})
    err = stand_in(message)
    err.type_name, err.module, err.message = kind, str(facts.get("module") or ""), message
    for k, v in (facts.get("attrs") or {}).items():
        try:
            setattr(err, k, v)
        except Exception:
            pass
    return err


class NonRetryableError(Exception):
    """Raise from a step to fail it at once: Temporal does not retry it, the error handler still runs.

    Subclass it for your own errors that retrying cannot fix; the error handler and
    ``FlowExecutionError.cause`` get your class back (``isinstance`` works).

    Example:
        class CardDeclined(NonRetryableError):
            pass

        def charge(data, ctx):
            if not approved(data):
                raise CardDeclined(f"card {data['card']!r} declined")
    """
