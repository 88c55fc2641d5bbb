"""Skip the sandbox round trip for serialization contexts nobody reads.

Before a workflow activation is interpreted and after its completion is built, the SDK walks
every payload in it three times (codec, external storage, storage references) and, for each
sequence, asks the workflow instance which serialization context applies
(``WorkflowInstance.get_serialization_context`` and ``get_external_store_context``). The sandboxed
instance answers each question by ``exec``-ing a fresh source string inside the sandbox: about a
quarter of a worker's CPU per step went there (docs/benchmarks.md, "Where a run's CPU goes").

The answer only selects which codec and external storage encode the payloads: the payload
converter runs inside the workflow, with its own context. When the client's data converter has
no external storage and a codec that ignores serialization context (ours: none, or the
``REFINIRE_PAYLOAD_KEY`` encryption codec), every answer selects the same codec, so
``ContextFreeRunner`` answers "no context" without entering the sandbox. With a context-aware
codec or external storage ``needs_contexts`` says so and the worker keeps the SDK's path.
"""

from __future__ import annotations

from typing import Any

from temporalio.converter import DataConverter, StorageDriverStoreContext, WithSerializationContext
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails

from client.connection.wrapping import WrappedInstance, WrappingRunner

__all__ = ["ContextFreeRunner", "needs_contexts"]

_NO_STORE = StorageDriverStoreContext(target=None)


def needs_contexts(converter: DataConverter) -> bool:
    """Whether anything outside the workflow reads a payload's serialization context."""
    return converter.external_storage is not None or isinstance(converter.payload_codec, WithSerializationContext)


class _Instance(WrappedInstance):
    def __init__(self, inner: WorkflowInstance) -> None:
        super().__init__(inner)
        self.activate = inner.activate  # type: ignore[method-assign]  # one call less per activation

    def get_serialization_context(self, command_info: Any) -> None:
        return None

    def get_external_store_context(self, command_info: Any) -> StorageDriverStoreContext:
        return _NO_STORE


class ContextFreeRunner(WrappingRunner):
    """Wraps a workflow runner; its instances answer the SDK's context questions without the
    sandbox. Only for workers whose data converter does not ``needs_contexts``."""

    def wrap(self, instance: WorkflowInstance, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _Instance(instance)
