"""The seam between the API users import (``refinire``) and the client that runs it.

``refinire`` is the API, the spec and pure rendering: it never connects to Temporal itself. The few
public calls that must (``Flow.run``, ``start_run``, ``run_loop``/``feed``/``next_prompt``,
``stop``, ``show(include_history=True)``, an agent's ``run`` outside a flow, the trace registry's
lookups) call into the client through this module, and only this one, from inside the function that
needs it: importing ``refinire`` never imports Temporal's client. The import contracts in
``pyproject.toml`` (``lint-imports``) allow ``refinire`` this one import of ``client``.
"""

from __future__ import annotations

from datetime import datetime

from client.connection.connect import connect
from client.history import listing
from client.history.listing import RunRow
from client.history.trace import load_trace_sync
from client.operations.control import cancel_run
from client.running.handle import feed, next_prompt, run_loop, start_flow
from client.running.standalone import run_step_standalone
from client.running.start import run_flow

__all__ = ["cancel_run", "feed", "find_run", "list_runs", "load_trace_sync", "next_prompt", "run_flow",
           "run_loop", "run_step_standalone", "start_flow"]


async def find_run(run_id: str) -> RunRow | None:
    """One run's row from Temporal's visibility, over a fresh connection."""
    return await listing.find_run(await connect(fresh=True), run_id)


async def list_runs(flow: str | None = None, status: str | None = None, limit: int | None = 20, *,
                    started_after: datetime | None = None,
                    started_before: datetime | None = None) -> list[RunRow]:
    """Runs matching every criterion given, newest first, over a fresh connection."""
    return await listing.list_runs(await connect(fresh=True), flow, status, limit,
                                   started_after=started_after, started_before=started_before)
