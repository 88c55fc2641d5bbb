"""``refinire.core``: Refinire's import path for tracing and its exception types."""

from ..observability import (
    TraceMetadata,
    TraceRegistry,
    disable_tracing,
    enable_console_tracing,
    get_global_registry,
    set_global_registry,
)
from .exceptions import *  # noqa: F403
from .exceptions import __all__ as _exceptions

__all__ = ["TraceMetadata", "TraceRegistry", "disable_tracing", "enable_console_tracing",
           "get_global_registry", "set_global_registry", *_exceptions]
