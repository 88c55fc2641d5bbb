"""A started run, from Python: answer its questions, read what it waits for, await its result.

``flow.start_run(x)`` only starts the run; a worker elsewhere (``python worker.py ...``, or
``worker.build_worker`` in the same process) executes it. ``flow.run_loop()`` is the interactive
variant that hosts the worker itself and answers questions with the text given to ``flow.feed``.
"""

from __future__ import annotations

import asyncio
import inspect
import time
import weakref
from typing import Any, Callable

from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError

from refinire.result import RunResult
from refinire.context import Context
from refinire.flow import Flow
from workflows.io import FlowResult
from workflows.waits import Answer, AnswerAccepted, PendingQuestion

from client.connection.connect import connect, ui_url

from .hosting import hosting
from .start import final_context, start_or_attach, wait_result, whole_run_ledgers


class AnswerRejected(ValueError):
    """The run refused an answer: nothing pending, another step waiting, or an empty text."""


class RunHandle:
    """Wraps Temporal's ``WorkflowHandle``; anything not defined here is the handle's own."""

    def __init__(self, handle: WorkflowHandle, flow: Flow, client: Client,
                 ctx: Context | None = None) -> None:
        self.handle, self.flow, self.client, self._ctx = handle, flow, client, ctx

    @property
    def id(self) -> str:
        return self.handle.id

    def __getattr__(self, name: str) -> Any:
        return getattr(self.handle, name)

    async def answer(self, text: str, step: str | None = None) -> AnswerAccepted:
        """Answer the pending question (optionally naming the step it is for)."""
        try:
            return await self.handle.execute_update("answer", Answer(text=text, step=step),
                                                    result_type=AnswerAccepted)
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            raise AnswerRejected(f"Run {self.id!r} rejected the answer: "
                                 f"{getattr(cause, 'message', None) or cause}") from None
        except RPCError as err:
            raise AnswerRejected(f"Run {self.id!r} cannot take an answer: {err.message}") from None

    async def pending_question(self) -> PendingQuestion | None:
        return await self.handle.query("pending_question", result_type=PendingQuestion | None)

    async def wait_for_question(self, timeout: float = 60.0, poll: float = 0.1) -> PendingQuestion:
        """The next pending question; polls the query until one is pending or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        while True:
            q = await self.pending_question()
            if q is not None:
                return q
            if time.monotonic() > deadline:
                raise TimeoutError(f"Run {self.id!r} asked no question within {timeout:g} s.")
            await asyncio.sleep(poll)

    async def result(self) -> RunResult:
        """What ``flow.run`` would have returned."""
        return self.to_result(await wait_result(self.handle, self.flow.durable_name, client=self.client))

    def to_result(self, outcome: FlowResult) -> RunResult:
        final = final_context(outcome, self.flow.spec)
        if self._ctx is not None:
            for field in type(self._ctx).model_fields:
                setattr(self._ctx, field, getattr(final, field))
        self.flow.context = final
        result = RunResult(final.result, final, run_id=self.id, flow_name=self.flow.durable_name,
                           ui_url=ui_url(self.client, self.id), path=outcome.path,
                           rebuild=whole_run_ledgers(self.id) if outcome.continuation else None)
        self.flow.last_result = result
        return result


class _Interactive:
    def __init__(self) -> None:
        self.fed: list[str] = []
        self.prompt: str | None = None


_LOOPS: "weakref.WeakKeyDictionary[Flow, _Interactive]" = weakref.WeakKeyDictionary()


def _state(flow: Flow) -> _Interactive:
    return _LOOPS.setdefault(flow, _Interactive())


def feed(flow: Flow, text: str) -> None:
    """Queue an answer for the next question of ``flow.run_loop()``."""
    _state(flow).fed.append(str(text))


def next_prompt(flow: Flow) -> str | None:
    """The question ``flow.run_loop()`` is waiting on, or ``None``."""
    return _state(flow).prompt


async def run_loop(flow: Flow, data: Any = None, ctx: Context | None = None, *,
                   run_id: str | None = None, ask: Callable[[str], Any] | None = None,
                   poll: float = 0.2) -> RunResult:
    """Run to the end; each question is answered with fed text, else ``ask(question)`` if given."""
    state = _state(flow)
    client = await connect()
    name = flow.register()
    async with hosting(client, flow) as worker_task:
        wf = await start_or_attach(client, name, flow, data, ctx, run_id)
        flow.last_run_id = wf.id
        handle = RunHandle(wf, flow, client, ctx)
        waiter = asyncio.ensure_future(wait_result(wf, name, worker_task, client=client))
        try:
            while not waiter.done():
                q = await handle.pending_question()
                state.prompt = q.question if q else None
                text = state.fed.pop(0) if q and state.fed else None
                if q and text is None and ask is not None:
                    text = ask(q.question)
                    text = await text if inspect.isawaitable(text) else text
                if q and text is not None:
                    await handle.answer(text, step=q.step)
                    state.prompt = None
                    continue
                await asyncio.wait({waiter}, timeout=poll)
            outcome = waiter.result()
        finally:
            state.prompt = None
            if not waiter.done():
                waiter.cancel()
    return handle.to_result(outcome)


async def start_flow(flow: Flow, data: Any = None, ctx: Context | None = None, *,
                     run_id: str | None = None) -> RunHandle:
    """Start a run to be executed by a worker elsewhere (``python worker.py ...``)."""
    client = await connect()
    handle = await start_or_attach(client, flow.durable_name, flow, data, ctx, run_id)
    flow.last_run_id = handle.id
    return RunHandle(handle, flow, client, ctx)
