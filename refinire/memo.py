"""A bounded memo for values that depend only on their key, kept for the life of the process.

For what every run of a flow would otherwise rebuild (its drawing, its spec read back from a run's
start event). Results are the same with or without it, so workflow code may use it: it changes
cost, never a decision. Full, it is emptied whole (the keys are few: one per flow and step).
"""

from __future__ import annotations

from typing import Callable, Generic, Hashable, TypeVar

__all__ = ["Memo"]

V = TypeVar("V")


class Memo(Generic[V]):
    """``memo.get(key, make)``: ``make()``'s value for ``key``, made once (up to ``size`` keys)."""

    def __init__(self, size: int = 1024) -> None:
        self._values: dict[Hashable, V] = {}
        self._size = size

    def get(self, key: Hashable, make: Callable[[], V]) -> V:
        value = self._values.get(key)
        if value is None:
            if len(self._values) >= self._size:
                self._values.clear()
            value = self._values[key] = make()
        return value
