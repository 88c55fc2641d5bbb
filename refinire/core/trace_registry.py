"""``refinire.core.trace_registry``: Refinire's import path for the trace registry."""

from ..observability import TraceMetadata, TraceRegistry, get_global_registry, set_global_registry

__all__ = ["TraceMetadata", "TraceRegistry", "get_global_registry", "set_global_registry"]
