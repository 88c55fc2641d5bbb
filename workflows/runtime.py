"""Workflow-side helpers shared by the interpreter and the agent steps: how a step's activity is
scheduled (retry policy, timeouts, ids, summaries) and how its failure is described.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.api.failure.v1 import Failure
from temporalio.common import RawValue, RetryPolicy
from temporalio.converter import DefaultFailureConverter
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError, FailureError
from temporalio.exceptions import TimeoutError as TemporalTimeout

with workflow.unsafe.imports_passed_through():
    from refinire.spec import FlowSpec, RetrySpec, StepOptions

    from .formats import decision_memo
    from .limits import checked_payload

DEFAULT_RETRY = RetrySpec()
DEFAULT_START_TO_CLOSE_S = 600.0
DEFAULT_HEARTBEAT_S = 10.0
ALWAYS_FATAL = ("NonRetryableError", "FlowDefinitionError", "PayloadTooLarge", "NotSerializable")


class StepFailed(Exception):
    """A step that failed for good (retries exhausted or non-retryable); workflow-internal."""

    def __init__(self, step_key: str, step_name: str, cause_type: str, cause_message: str,
                 branch: str | None = None, facts: dict[str, Any] | None = None,
                 trace: str = "") -> None:
        super().__init__(f"{cause_type}: {cause_message}")
        self.step_key = step_key
        self.step_name = step_name
        self.cause_type = cause_type
        self.cause_message = cause_message
        self.branch = branch
        self.facts = facts
        """The step's exception as ``refinire.errors.exception_facts`` described it, if it did."""
        self.trace = trace
        """The step's traceback as the activity recorded it (the user's frames), or ``""``."""


def trace_of(err: BaseException) -> str:
    """The deepest stack trace in a step failure's chain: the user's code, where it raised."""
    trace = ""
    cause: BaseException | None = err
    while cause is not None:
        failure = cause.failure if isinstance(cause, FailureError) else None
        if failure is not None and failure.stack_trace:
            trace = failure.stack_trace
        cause = cause.__cause__
    return trace


def failure_with_trace(error: ApplicationError, trace: str) -> None:
    """Make ``error``'s failure (the run's own, shown first by the Temporal UI) carry ``trace``.

    The SDK writes an exception's own frames (the interpreter's) as the stack trace; a failure the
    error already holds is sent as it is, so the failure is built here with the step's trace."""
    failure = Failure()
    DefaultFailureConverter().to_failure(error, workflow.payload_converter(), failure)
    failure.stack_trace = trace
    error._failure = failure  # the SDK sends an error's own failure as is (FailureError.failure)


def merged_options(flow: FlowSpec, options: StepOptions) -> StepOptions:
    d = flow.defaults
    return StepOptions(
        retry=options.retry or d.retry or DEFAULT_RETRY,
        start_to_close_s=options.start_to_close_s or d.start_to_close_s or DEFAULT_START_TO_CLOSE_S,
        heartbeat_s=options.heartbeat_s or d.heartbeat_s or DEFAULT_HEARTBEAT_S,
        local=options.local if options.local is not None else bool(d.local),
    )


def retry_policy(retry: RetrySpec) -> RetryPolicy:
    return RetryPolicy(
        initial_interval=timedelta(seconds=retry.initial_interval_s),
        backoff_coefficient=retry.backoff,
        maximum_interval=timedelta(seconds=retry.max_interval_s),
        maximum_attempts=retry.max_attempts,
        non_retryable_error_types=[*ALWAYS_FATAL, *retry.non_retryable_error_types],
    )


def _unwrap(err: BaseException) -> BaseException:
    cause: BaseException = err
    while isinstance(cause, ActivityError) and cause.cause is not None:
        cause = cause.cause
    return cause


def facts_of(err: BaseException) -> dict[str, Any] | None:
    """The step's exception facts the activity attached to its failure, if any."""
    cause = _unwrap(err)
    if isinstance(cause, ApplicationError) and cause.details and isinstance(cause.details[0], dict) \
            and "qualname" in cause.details[0]:
        return cause.details[0]
    return None


CANCEL_PATCH = "cancel-is-a-cancel"
"""Runs recorded before a cancelled step ended the run CANCELED took it as a step failure."""


def cancelled(err: BaseException) -> bool:
    """The activity ended because the run was cancelled: a cancel, never a step failure."""
    return isinstance(_unwrap(err), CancelledError) and workflow.patched(CANCEL_PATCH)


def describe_failure(err: BaseException) -> tuple[str, str]:
    """(type, message) of what the user's code raised, unwrapped from Temporal's envelopes."""
    cause = _unwrap(err)
    if isinstance(cause, ApplicationError):
        return cause.type or "Exception", cause.message
    if isinstance(cause, TemporalTimeout):
        return "TimeoutError", f"{cause.type.name.lower() if cause.type else 'activity'} timeout"
    return type(cause).__name__, str(cause)


TIMEOUT_PATCH = "timeout-names-step-timeout"
"""Runs recorded before a step's timeout was explained failed with ``start_to_close timeout``."""


def timeout_message(err: BaseException, step_name: str, options: StepOptions,
                    given: StepOptions, flow: FlowSpec) -> str | None:
    """What a step that ran out of time says: the step, the limit it hit, and the argument that
    raises it; ``None`` when ``err`` is not a timeout (or the run predates this message)."""
    cause = _unwrap(err)
    if not isinstance(cause, TemporalTimeout) or not workflow.patched(TIMEOUT_PATCH):
        return None
    attempts = options.retry.max_attempts if options.retry is not None else 0
    tries = (f"on each of its {attempts} attempts" if attempts > 1
             else "on its only attempt" if attempts == 1 else "on every attempt")
    kind = cause.type.name if cause.type is not None else ""
    if kind == "HEARTBEAT" and options.heartbeat_s:
        return (f"step {step_name!r} sent no heartbeat for {options.heartbeat_s:g} s {tries} (its "
                "worker died, or was too busy to send one), so Temporal stopped it. Give it longer "
                "with heartbeat= on the step (FunctionStep(..., heartbeat=SECONDS))")
    if kind != "START_TO_CLOSE" or not options.start_to_close_s:
        return None
    source = ("" if given.start_to_close_s else " (the flow's)" if flow.defaults.start_to_close_s
              else " (the default)")
    return (f"step {step_name!r} ran longer than its step_timeout of {options.start_to_close_s:g} s"
            f"{source} {tries}, so Temporal stopped it (start_to_close timeout). Give it more time "
            "with step_timeout= on the step (FunctionStep(..., step_timeout=SECONDS)) or on the flow "
            "for every step (Flow(..., step_timeout=SECONDS)), or make the step faster")


async def call_activity(
    activity: str,
    arg: Any,
    result_type: type,
    *,
    flow: FlowSpec,
    options: StepOptions,
    step_key: str,
    step_name: str,
    activity_id: str,
    summary: str,
    branch: str | None = None,
    heartbeat: bool = True,
) -> Any:
    """Run one activity for a step; a final failure becomes ``StepFailed`` naming the step."""
    opts = merged_options(flow, options)
    assert opts.retry is not None and opts.start_to_close_s is not None
    # Encoded once: checked for size, then sent as those very bytes.
    payload, _ = checked_payload(arg, flow.name, f"{step_key}/{branch}" if branch else step_key,
                                 "the step's input")
    arg = RawValue(payload)
    if opts.local:
        try:
            return await workflow.execute_local_activity(
                activity, arg, result_type=result_type, activity_id=activity_id, summary=summary,
                start_to_close_timeout=timedelta(seconds=opts.start_to_close_s),
                retry_policy=retry_policy(opts.retry),
            )
        except (ActivityError, ApplicationError) as err:
            # A local activity's final failure can surface as the bare ApplicationError.
            if cancelled(err):
                raise asyncio.CancelledError() from None
            kind, message = describe_failure(err)
            message = timeout_message(err, step_name, opts, options, flow) or message
            raise StepFailed(step_key, step_name, kind, message, branch, facts_of(err),
                             trace_of(err)) from None
    try:
        return await workflow.execute_activity(
            activity, arg, result_type=result_type, activity_id=activity_id, summary=summary,
            start_to_close_timeout=timedelta(seconds=opts.start_to_close_s),
            heartbeat_timeout=timedelta(seconds=opts.heartbeat_s) if heartbeat and opts.heartbeat_s else None,
            retry_policy=retry_policy(opts.retry),
        )
    except ActivityError as err:
        if cancelled(err):
            raise asyncio.CancelledError() from None
        kind, message = describe_failure(err)
        message = timeout_message(err, step_name, opts, options, flow) or message
        raise StepFailed(step_key, step_name, kind, message, branch, facts_of(err),
                         trace_of(err)) from None


def record_decision(step_key: str, label: str, target: str | None) -> None:
    """Put a branch decision into the event history itself (a memo update), so the Temporal UI and
    ``show()`` in any process see which way the run went."""
    workflow.upsert_memo(decision_memo(step_key, label, target))
