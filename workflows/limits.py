"""Temporal's size limits, checked by the workflow before it sends anything, and the run's budget.

Temporal refuses a payload over 2 MB and a workflow-task completion over the gRPC message limit
(4 MB). Either refusal fails the *workflow task*, which Temporal retries forever: the run looks
"Running" and never ends. So every payload the workflow is about to send (a step's input, a
continuation's input, the run's result) is encoded here first, and one that cannot be sent fails
the run at once, naming the step and the fix. The same goes for a value that cannot be encoded at
all (a ``str`` with a lone surrogate, as ``os.fsdecode`` returns for non-UTF-8 file names).

``Limits`` also says when a long run should continue as new, and when a run of local steps should
close its workflow task (every local step's result rides in the task that ran it).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from refinire.spec import HistoryBudget

    from .formats import CHECKPOINT_ACTIVITY, CHECKPOINT_SUMMARY, CHECKPOINT_TIMER_SUMMARY, checkpoint_id
    from .io import Checkpoint

PAYLOAD_LIMIT = 2 * 1024 * 1024
"""Temporal's default per-payload limit (``limit.blobSize.error``)."""
TASK_LIMIT = 3 * 1024 * 1024
"""What one workflow-task completion may carry, kept under the 4 MB gRPC message limit."""
LOCAL_BATCH_BYTES = 512 * 1024
LOCAL_BATCH_STEPS = 100
CHECKPOINT = timedelta(milliseconds=1)
"""How runs recorded before ``CHECKPOINT_PATCH`` closed the task: a 1 ms timer, which the dev
server fires a few hundred ms late (3 ms per local step, amortised)."""
CHECKPOINT_PATCH = "checkpoint-by-activity"
"""Newer runs close the task with ``refinire.checkpoint``, a no-op activity: one round trip, about
10 ms, so about 0.1 ms per local step."""


def _fail(message: str, kind: str, **details: Any) -> ApplicationError:
    return ApplicationError(message, details, type=kind, non_retryable=True)


def payload_size(value: Any) -> int:
    """Bytes of ``value`` as Temporal will store it (before any codec). Raises if it cannot be encoded."""
    return sum(p.ByteSize() for p in workflow.payload_converter().to_payloads([value]))


def checked_payload(value: Any, flow: str, step: str, what: str) -> tuple[Payload, int]:
    """``value`` encoded as Temporal will store it (before any codec), and its size; fails the run,
    naming ``step``, if Temporal would refuse it. Send the payload itself (``RawValue``) rather than
    ``value``, so the size is measured from the bytes that go out instead of a second encoding."""
    try:
        payload = workflow.payload_converter().to_payloads([value])[0]
    except Exception as exc:
        raise _fail(
            f"Flow {flow!r}: {what} at step {step!r} cannot be encoded as JSON ({exc}). A value in the "
            "context is not plain data; store str (valid Unicode), int, float, bool, None, list, dict "
            "or a pydantic model.", "NotSerializable", step=step) from None
    size = payload.ByteSize()
    if size > PAYLOAD_LIMIT:
        raise _fail(
            f"Flow {flow!r}: {what} at step {step!r} is {size:,} bytes, over Temporal's "
            f"{PAYLOAD_LIMIT:,}-byte payload limit. Keep large data out of the context (a file, a "
            "bucket, a database) and pass a reference.", "PayloadTooLarge", step=step, size=size)
    return payload, size


def check_payload(value: Any, flow: str, step: str, what: str) -> int:
    """The encoded size of ``value``; fails the run, naming ``step``, if Temporal would refuse it."""
    return checked_payload(value, flow, step, what)[1]


def check_fan_out(arg: Any, flow: str, block: str, concurrent: int) -> None:
    """A parallel block starts ``concurrent`` activities with this input in one workflow task."""
    size = check_payload(arg, flow, block, "the input of parallel block's branches")
    if size * concurrent > TASK_LIMIT:
        raise _fail(
            f"Flow {flow!r}: parallel block {block!r} would start {concurrent} branches with "
            f"{size:,} bytes of input each ({size * concurrent:,} bytes in one workflow task, over "
            f"{TASK_LIMIT:,}). Lower max_workers or keep large data out of the context.",
            "PayloadTooLarge", step=block, size=size * concurrent)


class Limits:
    """One Temporal run's budget: when to continue as new, when to checkpoint local steps."""

    def __init__(self, budget: HistoryBudget | None) -> None:
        self.budget = budget
        self._local_bytes = 0
        self._local_steps = 0

    def continue_as_new_due(self) -> bool:
        info = workflow.info()
        if info.is_continue_as_new_suggested():
            return True
        b = self.budget
        if b is None:
            return False
        return bool((b.max_events and info.get_current_history_length() >= b.max_events)
                    or (b.max_bytes and info.get_current_history_size() >= b.max_bytes))

    async def checkpoint(self, visit: int) -> None:
        """Close the workflow task (its local-step results go to the server) and go on."""
        if workflow.patched(CHECKPOINT_PATCH):
            await workflow.execute_activity(
                CHECKPOINT_ACTIVITY, Checkpoint(visit=visit), result_type=Checkpoint,
                activity_id=checkpoint_id(visit), summary=CHECKPOINT_SUMMARY,
                start_to_close_timeout=timedelta(seconds=30))
        else:
            await workflow.sleep(CHECKPOINT, summary=CHECKPOINT_TIMER_SUMMARY)

    def local_step(self, size: int) -> bool:
        """Count a finished local step; true when the workflow task should be closed now."""
        self._local_bytes += size
        self._local_steps += 1
        if self._local_bytes >= LOCAL_BATCH_BYTES or self._local_steps >= LOCAL_BATCH_STEPS:
            self._local_bytes = self._local_steps = 0
            return True
        return False
