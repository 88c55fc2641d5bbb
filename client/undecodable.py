"""A payload this process cannot decode fails the run at once, saying why and how to fix it.

Left to the SDK, a payload the worker cannot decode (sealed with another ``REFINIRE_PAYLOAD_KEY``
or with a key this worker lacks; JSON that today's models reject) fails the *workflow task*,
which Temporal retries forever: the run shows Running and never moves. temporalio has one
sanctioned way out: a payload codec or converter that raises a non-retryable ``ApplicationError``
while a workflow activation is decoded fails the workflow execution instead of the task
(``temporalio/worker/_workflow.py`` for codecs, ``workflow_is_failure_exception`` for converters).
So every decoding failure of ours is a ``PayloadNotDecodable``:

- a sealed payload and another key: ``EncryptionCodec.open`` (``client/codec.py``);
- a sealed payload and no key: ``RefuseSealed``, the codec of a worker without a key;
- JSON the models reject: ``invalid_payload``, from the JSON converter (type ``PayloadValidationError``,
  the SDK's reserved type for a payload that fails validation).

Nothing else changes: nondeterminism and errors in workflow code are not decoding, so they keep
failing the task (a deploy can still fix them); activities wrap decoding errors in a retryable
error of their own (the step's retry policy bounds them); clients raise the error to the caller.
A key failure's message carries no data, so ``PlainKeyFailures`` leaves it readable by every
reader, whichever key they hold; a validation failure may quote data and is sealed as usual.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Sequence

from pydantic import ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    ActivitySerializationContext,
    DefaultFailureConverter,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
    WorkflowSerializationContext,
)
from temporalio.exceptions import ApplicationError

__all__ = ["KEY_MISMATCH", "PayloadNotDecodable", "PlainKeyFailures", "RefuseSealed", "invalid_payload",
           "run_of", "sealed_elsewhere"]

KEY_MISMATCH = "PayloadKeyMismatch"
VALIDATION = "PayloadValidationError"
_WHAT = {"FlowRun": "the run's input", "FlowResult": "the run's result", "StepOutput": "a step's output",
         "StepInput": "a step's input"}


class PayloadNotDecodable(ApplicationError, ValueError):
    """A payload this process cannot decode; non-retryable, so a workflow fails instead of waiting."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message, type=kind, non_retryable=True)


def run_of(context: SerializationContext | None) -> str | None:
    """The run (workflow id) a serialization context is about, if any."""
    if isinstance(context, (WorkflowSerializationContext, ActivitySerializationContext)):
        return context.workflow_id or None
    return None


def sealed_elsewhere(run: str | None, sealed_with: str, holds: str | None, env: str) -> PayloadNotDecodable:
    """The error for a payload sealed with a key this process does not hold."""
    here = f"this worker's {env} holds key {holds!r}" if holds else f"this worker has no {env}"
    if run is None:
        return PayloadNotDecodable(
            f"This payload was sealed with key {sealed_with!r}, but {here.replace('this worker', 'this process')}. "
            f"Set {env} to the key the run was written with.", KEY_MISMATCH)
    return PayloadNotDecodable(
        f"Run {run!r} cannot be decoded here: it was sealed with key {sealed_with!r}, but {here}. The run "
        "failed instead of waiting: start the worker with the key the run was sealed with, then resume "
        f"the run where it stopped: `temporal workflow reset --workflow-id {run} --type LastWorkflowTask "
        f"--reason 'payload key fixed'`, or start it again: `refinire-flow rerun {run} --from STEP`.",
        KEY_MISMATCH)


def invalid_payload(err: ValidationError, type_hint: Any, payload: Payload) -> PayloadNotDecodable:
    """The error for JSON that the model it is read into rejects (what, where, and the fix)."""
    name = getattr(type_hint, "__name__", None) or str(type_hint)
    what = _WHAT.get(name, f"a {name} payload")
    flow = None
    if name == "FlowRun":
        try:
            flow = json.loads(payload.data).get("flow_name")
        except Exception:
            flow = None
    problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}"
                         for e in err.errors(include_url=False, include_input=False)[:5])
    more = f" (and {err.error_count() - 5} more)" if err.error_count() > 5 else ""
    who = f"Flow {flow!r}: " if flow else ""
    return PayloadNotDecodable(
        f"{who}{what} does not fit this worker's {name} model: {problems}{more}. It was written by "
        "another version of refinire-flow, or by other code. The run failed instead of waiting: serve it "
        "with the version that started it, or start it again with this one.", VALIDATION)


class RefuseSealed(PayloadCodec, WithSerializationContext):
    """The codec of a process without a key: passes plain payloads through, refuses sealed ones."""

    def __init__(self, encoding: bytes, key_id_meta: str, env: str) -> None:
        self._encoding, self._key_id_meta, self._env = encoding, key_id_meta, env
        self._run: str | None = None

    def with_context(self, context: SerializationContext) -> "RefuseSealed":
        other = copy.copy(self)
        other._run = run_of(context)
        return other

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        for p in payloads:
            if p.metadata.get("encoding") == self._encoding:
                sealed_with = p.metadata.get(self._key_id_meta, b"").decode() or "unknown"
                raise sealed_elsewhere(self._run, sealed_with, None, self._env)
        return list(payloads)


class PlainKeyFailures(DefaultFailureConverter):
    """Seals failure messages (they often quote data), except a key failure's: whoever reads the
    failed run, with whichever key, must be able to read why it failed."""

    def __init__(self) -> None:
        super().__init__(encode_common_attributes=True)
        self._plain = DefaultFailureConverter()

    def to_failure(self, exception: BaseException, payload_converter: Any, failure: Any) -> None:
        if isinstance(exception, PayloadNotDecodable) and exception.type == KEY_MISMATCH:
            self._plain.to_failure(exception, payload_converter, failure)
        else:
            super().to_failure(exception, payload_converter, failure)
