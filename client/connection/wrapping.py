"""Bases for a workflow runner that wraps another one, and for the instances it wraps: everything
is handed to the wrapped runner or instance, so a subclass overrides only what it changes
(``undecodable.DecodeAwareRunner``, ``client.serving.contexts.ContextFreeRunner``). Built on the
SDK's public ``WorkflowRunner``/``WorkflowInstance`` interfaces only."""

from __future__ import annotations

from typing import Any, Sequence

from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails, WorkflowRunner

__all__ = ["WrappedInstance", "WrappingRunner"]


class WrappedInstance(WorkflowInstance):
    """A workflow instance that hands every call to ``inner``."""

    def __init__(self, inner: WorkflowInstance) -> None:
        self._inner = inner

    def activate(self, act: Any) -> Any:
        return self._inner.activate(act)

    def get_serialization_context(self, command_info: Any) -> Any:
        return self._inner.get_serialization_context(command_info)

    def get_external_store_context(self, command_info: Any) -> Any:
        return self._inner.get_external_store_context(command_info)

    def get_info(self) -> Any:
        return self._inner.get_info()

    def get_thread_id(self) -> int | None:
        return self._inner.get_thread_id()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class WrappingRunner(WorkflowRunner):
    """A workflow runner that hands every call to ``inner``; ``wrap`` makes its instances."""

    def __init__(self, inner: WorkflowRunner) -> None:
        self.inner = inner

    def wrap(self, instance: WorkflowInstance, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return instance

    def prepare_workflow(self, defn: Any) -> None:
        self.inner.prepare_workflow(defn)

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return self.wrap(self.inner.create_instance(det), det)

    def set_worker_level_failure_exception_types(self, types: Sequence[type[BaseException]]) -> None:
        self.inner.set_worker_level_failure_exception_types(types)
