"""A payload a worker cannot decode fails the run at once, saying why and how to fix it.

Left to the SDK, a payload the worker cannot decode (sealed with another ``REFINIRE_PAYLOAD_KEY``,
or with a key this worker lacks; JSON that today's models reject) fails the *workflow task*, which
Temporal retries forever: the run shows Running and never moves. temporalio's own way out: an
exception that is a ``FailureError`` (``ApplicationError``) raised while a workflow activation's
payloads are converted fails the workflow execution instead of the task
(``workflow_is_failure_exception`` in the SDK). So our converters raise ``PayloadNotDecodable``:

- a sealed payload this process cannot open (``SealedPayloadConverter``; the codec marks why:
  another key, or an altered payload; with no key at all there is no codec to ask);
- JSON the models reject (``WireJSONConverter`` in ``client/connection/codec.py`` calls ``invalid_payload``;
  type ``PayloadValidationError``, the SDK's reserved type for a payload that fails validation).

Failing is only possible at the tip of a run's history. A worker that *replays* a run that had
already progressed (a worker restarted with another key, say) cannot add a failure without
contradicting the history (Temporal would report nondeterminism and retry anyway). There the error
fails the task with the same clear message (``UndecodableOnReplay``): the run stays Running, nothing
is lost, and the first worker that can read it continues it; ``show`` and ``runs`` say why it is
stuck. ``DecodeAwareRunner`` wraps the worker's workflow runner to tell the two apart; that is
why the codec never raises in a client or worker (``EncryptionCodec.lenient``): codecs run before
the activation, where nobody knows yet whether it replays.

Nothing else changes: nondeterminism and errors in workflow code are not decoding, so they keep
failing the task; activities wrap decoding errors in a retryable error of their own (the step's
retry policy bounds them); clients raise the error to the caller. A key failure's message carries
no data, so ``PlainKeyFailures`` leaves it readable by every reader, whichever key they hold.
"""

from __future__ import annotations

import json
import threading
from typing import Any, NoReturn

from pydantic import ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.converter import DefaultFailureConverter, EncodingPayloadConverter
from temporalio.exceptions import ApplicationError
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails

from .wrapping import WrappedInstance, WrappingRunner

__all__ = ["KEY_MISMATCH", "VALIDATION", "WHY_META", "DecodeAwareRunner", "PayloadNotDecodable",
           "PlainKeyFailures", "SealedPayloadConverter", "UndecodableOnReplay", "invalid_payload"]

KEY_MISMATCH = "PayloadKeyMismatch"
VALIDATION = "PayloadValidationError"
WHY_META = "refinire-undecodable"
"""Metadata a codec adds to a sealed payload it could not open: why (the key it holds, ...)."""
SEALED = "binary/encrypted"
KEY_ID_META = "encryption-key-id"
KEY_ENV = "REFINIRE_PAYLOAD_KEY"
_WHAT = {"FlowRun": "the run's input", "FlowResult": "the run's result", "StepOutput": "a step's output",
         "StepInput": "a step's input"}


class PayloadNotDecodable(ApplicationError, ValueError):
    """A payload this process cannot decode; non-retryable, so a workflow fails instead of waiting."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message, type=kind, non_retryable=True)


class UndecodableOnReplay(ValueError):
    """The same, met while replaying a run that had progressed: fails the task, the run waits."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


# Which run the current thread is activating, and whether it replays (set by DecodeAwareRunner).
_ACTIVATION = threading.local()


def _raise(message: str, kind: str, resume: str = "") -> NoReturn:
    """At a run's tip the run fails (``PayloadNotDecodable``); on replay only the task does."""
    run = getattr(_ACTIVATION, "run", None)
    if run is not None and getattr(_ACTIVATION, "replaying", False):
        raise UndecodableOnReplay(
            f"{message} The run had already progressed, so this worker cannot fail it without "
            "contradicting its history: it stays Running, and the first worker that can read it "
            "continues it.", kind)
    if run is not None:
        message += f" The run failed instead of waiting{resume}."
    raise PayloadNotDecodable(message, kind)


def _run_prefix() -> str:
    run = getattr(_ACTIVATION, "run", None)
    return f"Run {run!r}: " if run else ""


def invalid_payload(err: ValidationError, type_hint: Any, payload: Payload) -> NoReturn:
    """Raise the error for JSON that the model it is read into rejects (what, where, the fix)."""
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
    _raise(f"{_run_prefix()}{who}{what} does not fit this worker's {name} model: {problems}{more}. It was "
           "written by another version of refinire-flow, or by other code: serve the run with the "
           "version that started it, or start it again with this one.", VALIDATION)


class SealedPayloadConverter(EncodingPayloadConverter):
    """Reads sealed payloads that reached conversion: only those its process could not open."""

    @property
    def encoding(self) -> str:
        return SEALED

    def to_payload(self, value: Any) -> Payload | None:
        return None  # never writes: sealing is the codec's job

    def from_payload(self, payload: Payload, type_hint: Any = None) -> Any:
        sealed_with = payload.metadata.get(KEY_ID_META, b"").decode() or "unknown"
        why = payload.metadata.get(WHY_META, b"").decode() or f"this worker has no {KEY_ENV}"
        run = getattr(_ACTIVATION, "run", None)
        if run is None:
            _raise(f"This payload ({SEALED}) was sealed with key {sealed_with!r}, but {why.replace('worker', 'process')}. "
                   f"Set {KEY_ENV} to the key the run was written with.", KEY_MISMATCH)
        _raise(f"Run {run!r} cannot be decoded here: a payload ({SEALED}) was sealed with key {sealed_with!r}, "
               f"but {why}. Start the worker with the key the run was sealed with.", KEY_MISMATCH,
               f"; once a worker has the key, resume it where it stopped: `temporal workflow reset "
               f"--workflow-id {run} --type LastWorkflowTask --reason 'payload key fixed'`")


def _key_failure(exc: BaseException | None) -> bool:
    while exc is not None:
        if isinstance(exc, PayloadNotDecodable) and exc.type == KEY_MISMATCH:
            return True
        if isinstance(exc, UndecodableOnReplay) and exc.kind == KEY_MISMATCH:
            return True
        exc = exc.__cause__
    return False


class PlainKeyFailures(DefaultFailureConverter):
    """Seals failure messages (they often quote data), except a key failure's: whoever reads the
    failed run, with whichever key, must be able to read why it failed."""

    def __init__(self) -> None:
        super().__init__(encode_common_attributes=True)
        self._plain = DefaultFailureConverter()

    def to_failure(self, exception: BaseException, payload_converter: Any, failure: Any) -> None:
        if _key_failure(exception):
            self._plain.to_failure(exception, payload_converter, failure)
        else:
            super().to_failure(exception, payload_converter, failure)


class _Instance(WrappedInstance):
    def __init__(self, inner: WorkflowInstance, run: str) -> None:
        super().__init__(inner)
        self._run = run

    def activate(self, act: Any) -> Any:
        _ACTIVATION.run, _ACTIVATION.replaying = self._run, act.is_replaying
        try:
            return self._inner.activate(act)
        finally:
            _ACTIVATION.run = _ACTIVATION.replaying = None


class DecodeAwareRunner(WrappingRunner):
    """The worker's workflow runner, telling our converters which run they decode and whether it
    replays (so an undecodable payload fails the run at its tip, and only the task on replay)."""

    def wrap(self, instance: WorkflowInstance, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _Instance(instance, det.info.workflow_id)
