"""What ``flow.run`` returns: the run's output that also answers for its context.

It prints, formats, compares, measures and slices as the output itself (the guide does
``result[:50]`` and ``len(result)``), and ``result.shared_state`` or ``result.evaluation_result``
read the run's final context.
"""

from __future__ import annotations

from typing import Any, Callable

from .context import Context


_LEDGERS = ("span_history", "usage", "total_usage")


class RunResult:
    __slots__ = ("_value", "_context", "run_id", "flow_name", "ui_url", "path", "_rebuild", "_ledgers")

    def __init__(self, value: Any, context: Context, *, run_id: str, flow_name: str,
                 ui_url: str | None = None, path: list[str] | None = None,
                 rebuild: Callable[[], tuple[list[dict[str, Any]], list[dict[str, Any]]]] | None = None) -> None:
        self._value = value
        self._context = context
        self.run_id = run_id
        self.flow_name = flow_name
        self.ui_url = ui_url
        self.path = path or []
        self._rebuild = rebuild
        """A long run (continued as new) keeps only its last Temporal run's ``span_history`` and
        ``usage`` in its result; this reads the whole chain's, once, when first asked for."""
        self._ledgers: Context | None = None

    @property
    def value(self) -> Any:
        return self._value

    @property
    def context(self) -> Context:
        return self._context

    @property
    def result(self) -> Any:
        return self._value

    def __getattr__(self, name: str) -> Any:
        if name in _LEDGERS and object.__getattribute__(self, "_rebuild") is not None:
            return getattr(self._whole_run(), name)
        ctx = object.__getattribute__(self, "_context")
        if name in type(ctx).model_fields or hasattr(type(ctx), name):
            return getattr(ctx, name)
        return getattr(object.__getattribute__(self, "_value"), name)

    def _whole_run(self) -> Context:
        if self._ledgers is None:
            assert self._rebuild is not None
            spans, usage = self._rebuild()
            self._ledgers = Context(span_history=spans, usage=usage)
        return self._ledgers

    def __str__(self) -> str:
        return str(self._value)

    def __repr__(self) -> str:
        return repr(self._value)

    def __format__(self, spec: str) -> str:
        return format(self._value, spec)

    def __len__(self) -> int:
        return len(self._value)

    def __getitem__(self, item: Any) -> Any:
        return self._value[item]

    def __iter__(self):
        return iter(self._value)

    def __contains__(self, item: Any) -> bool:
        return item in self._value

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, RunResult):
            other = other._value
        return self._value == other

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __add__(self, other: Any) -> Any:
        return self._value + other

    def __radd__(self, other: Any) -> Any:
        return other + self._value
