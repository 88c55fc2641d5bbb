"""Operations on a run by its id, for the Flow methods that act on a run in flight (``stop()``)."""

from __future__ import annotations

from temporalio.service import RPCError

from client.connection.connect import connect


async def cancel_run(run_id: str) -> bool:
    """Request cancellation of a run; ``False`` when it had already ended (nothing to cancel)."""
    client = await connect(fresh=True)
    handle = client.get_workflow_handle(run_id)
    try:
        desc = await handle.describe()
        if desc.status is not None and desc.status.name != "RUNNING":
            return False
        await handle.cancel()
    except RPCError:
        return False
    return True
