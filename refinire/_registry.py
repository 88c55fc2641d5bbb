"""Which flows this process can execute, by their durable name.

Workflows and activities look callables up here by (flow name, step key); specs carry only names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .flow import Flow

_FLOWS: dict[str, "Flow"] = {}


def register(name: str, flow: "Flow") -> None:
    _FLOWS[name] = flow


def get(name: str) -> "Flow | None":
    return _FLOWS.get(name)


def known() -> list[str]:
    return sorted(_FLOWS)
