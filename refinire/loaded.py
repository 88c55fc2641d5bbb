"""Classes found by name among the modules this process has already imported.

Values and exceptions that cross Temporal name their class (module and qualified name); the reader
finds it here, and never imports a module because a payload names it. Temporal's workflow sandbox
swaps ``sys.modules`` for its own while workflow code runs (conditions, the error handler), so the
process's own module table is held by reference, taken at import.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["find_loaded"]

_MODULES = sys.modules


def find_loaded(module: str, qualname: str) -> Any:
    """The object ``module.qualname`` if that module is loaded, else ``None``."""
    obj: Any = _MODULES.get(module)
    for part in qualname.split("."):
        if obj is None:
            return None
        obj = getattr(obj, part, None)
    return obj
