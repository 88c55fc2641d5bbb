"""Our models on Temporal's wire: fields left at their defaults are not written.

Every step's input, output and the run's start and result events are stored in the history; a
field at its default (``None``, ``False``, ``[]``) says nothing the reader does not know, so it is
left out, and reading fills it back in. This applies only when our payload converter serializes
(``client.codec``: it passes ``WIRE`` as pydantic's serialization context), and only to our own
models: a user's pydantic model in ``shared_state`` is written whole, ``ctx.model_dump()`` and
``ctx.as_dict()`` are unchanged.
"""

from __future__ import annotations

from typing import Any, Literal, get_origin

from pydantic import BaseModel, SerializationInfo, SerializerFunctionWrapHandler, model_serializer
from pydantic_core import PydanticUndefined

__all__ = ["WIRE", "WireModel"]

WIRE = {"refinire_wire": True}
"""The serialization context our payload converter passes."""

_EMPTY_FACTORIES = (list, dict, set, tuple)
_DEFAULT, _EMPTY = 0, 1
_PLANS: dict[type, tuple[tuple[str, int, Any], ...]] = {}


def _plan(cls: type[BaseModel]) -> tuple[tuple[str, int, Any], ...]:
    """The fields of ``cls`` that may be left out, read once per class: (name, ``_DEFAULT`` with the
    default, or ``_EMPTY``). Reading the annotations on every serialization cost a few µs per field,
    many times that in Temporal's workflow sandbox, which wraps ``isinstance`` for everyone."""
    plan = _PLANS.get(cls)
    if plan is None:
        rows = []
        for name, field in cls.model_fields.items():
            if get_origin(field.annotation) is Literal:
                continue  # a discriminator (``kind``) is always written: readers choose the type by it
            if field.default is not PydanticUndefined:
                rows.append((name, _DEFAULT, field.default))
            elif field.default_factory in _EMPTY_FACTORIES:
                rows.append((name, _EMPTY, None))
        plan = _PLANS[cls] = tuple(rows)
    return plan


class WireModel(BaseModel):
    """A model written compactly on Temporal's wire (see the module docstring)."""

    @model_serializer(mode="wrap")
    def _compact(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        return self._on_wire(handler(self), info)

    def _on_wire(self, data: Any, info: SerializationInfo) -> Any:
        """``data`` (this model as serialized) without its fields at their defaults, on the wire.
        A subclass that leaves out more overrides this and calls it first."""
        if type(data) is not dict or not (info.context or {}).get("refinire_wire"):
            return data
        for name, how, default in _plan(type(self)):
            if name not in data:
                continue
            value = getattr(self, name, None)
            if how == _DEFAULT:
                if value is default or (type(value) is type(default) and value == default):
                    del data[name]
            elif not value:
                del data[name]
        return data
