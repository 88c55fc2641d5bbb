"""Finish a coroutine from synchronous code, the way Refinire's sync methods are called.

Refinire's registry and ``Flow.step()``/``stop()`` are synchronous; ours talk to Temporal, which is
async. From plain code we run the coroutine on a new loop; inside a running loop (a notebook, an
async test) we run it on a private loop in a helper thread and wait for it, never on the caller's.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Awaitable, Callable, TypeVar

T = TypeVar("T")


def blocking(make: Callable[[], Awaitable[T]]) -> T:
    """Run ``make()`` to completion and return its value (or raise its exception)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_awaited(make))
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["value"] = asyncio.run(_awaited(make))
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=work, name="refinire-sync")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


async def _awaited(make: Callable[[], Awaitable[T]]) -> T:
    return await make()
