"""How a user function is called, in one place for the activity and for a direct ``run_async``."""

from __future__ import annotations

import asyncio
import inspect
import weakref
from concurrent.futures import Executor
from typing import Any, Callable, Literal

from .context import Context

CallKind = Literal["data_ctx", "ctx"]


_POSITIONAL: "weakref.WeakKeyDictionary[Any, int | None]" = weakref.WeakKeyDictionary()
"""``required_positional`` by function: ``inspect.signature`` costs about 0.1 ms, and a run pays it
for every step when the flow compiles and again when the step runs."""


def required_positional(fn: Callable[..., Any]) -> int | None:
    """How many positional parameters ``fn`` needs; ``None`` when it takes ``*args``."""
    try:
        return _POSITIONAL[fn]
    except (KeyError, TypeError):  # not seen yet, or not weakly referenceable / hashable
        pass
    count = _required_positional(fn)
    try:
        _POSITIONAL[fn] = count
    except TypeError:
        pass
    return count


def _required_positional(fn: Callable[..., Any]) -> int | None:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    count = 0
    for p in sig.parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            return None
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty:
            count += 1
    return count


def call_kind(fn: Callable[..., Any]) -> CallKind | None:
    """``f(data, ctx)`` for two required positional parameters, ``f(ctx)`` for one, else ``None``."""
    n = required_positional(fn)
    if n is None or n == 2:
        return "data_ctx"
    if n == 1:
        return "ctx"
    return None


async def invoke(
    fn: Callable[..., Any],
    kind: CallKind,
    data: Any,
    ctx: Context,
    executor: Executor | None = None,
) -> Any:
    """Call ``fn``; sync code runs in a thread so a blocking step never stalls its neighbours."""
    args = (data, ctx) if kind == "data_ctx" else (ctx,)
    if inspect.iscoroutinefunction(fn):
        out = await fn(*args)
    else:
        loop = asyncio.get_running_loop()
        out = await loop.run_in_executor(executor, lambda: fn(*args))
    while inspect.isawaitable(out):
        out = await out
    return out


def apply_output(ctx: Context, out: Any) -> Context:
    """A returned Context replaces the run's context; ``None`` keeps the result; anything else is it."""
    if isinstance(out, Context):
        return out
    if out is not None:
        ctx.result = out
    return ctx
