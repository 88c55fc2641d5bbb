"""The work each benchmark step does, shared by our flows and the hand-written baseline so that
both run exactly the same user code and only the machinery around it differs."""

from __future__ import annotations

import time
from typing import Any


def add_one(data: Any, ctx: Any) -> int:
    """A light step: what a flow of small glue functions does."""
    return int(data or 0) + 1


def sleep_one(data: Any, ctx: Any) -> str:
    """A one-second branch, as in the guide's §2.2 (``time.sleep(1)``)."""
    time.sleep(1)
    return f"done ({str(data)[:20]})"


def combine(data: Any, ctx: Any) -> dict:
    return {"combined_result": "Multiple analyses completed", "branches": sorted(data or {})}
