"""What a command acts on, reached the one way every command reaches it: Temporal (exit 3 when
it cannot be), a flow's code (a module that cannot load is bad usage), a run by its id (an
unknown id is bad usage), and the run's input and output as a person types and reads them."""

from __future__ import annotations

import json
from typing import Any

from refinire.errors import FlowDefinitionError, FlowExecutionError, SettingError

from .exits import CLIError, Unreachable, UsageError


def render(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(value)


def parse_input(text: str | None) -> Any:
    """JSON when it parses (``42``, ``{"a": 1}``, ``"quoted"``), else the text itself."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


async def connected():
    """A connected client, or exit 3 naming the address and the fix (exit 2 for a bad setting)."""
    from client.connection.connect import connect

    try:
        return await connect()
    except SettingError as exc:
        raise UsageError(str(exc)) from None
    except FlowExecutionError as exc:
        raise Unreachable(str(exc)) from None
    except Exception as exc:
        raise Unreachable(f"Cannot connect to Temporal: {type(exc).__name__}: {exc}") from None


def loading(what: str, load: Any, *args: Any) -> Any:
    """Load a flow's code; anything that stops it (no module, no flow, a broken definition) is usage."""
    try:
        return load(*args)
    except (CLIError, KeyboardInterrupt):
        raise
    except (FlowExecutionError, FlowDefinitionError) as exc:
        raise UsageError(str(exc)) from None
    except SystemExit as exc:
        raise UsageError(str(exc.code)) from None
    except Exception as exc:
        fix = "Fix the module, then run the command again."
        if "asyncio.run() cannot be called from a running event loop" in str(exc):
            fix = ("The module runs its flow when imported: put `asyncio.run(main())` under "
                   "`if __name__ == \"__main__\":` so the CLI and workers can import its flows.")
        raise UsageError(f"Cannot load {what}: importing it raised {type(exc).__name__}: {exc}. "
                         f"{fix}") from None


def flow_code(ref: str):
    from client.serving.modules import load_flow

    return loading(ref, load_flow, ref)


async def describe_run(client: Any, run_id: str) -> Any:
    """The run's description, or exit 2 when there is no run with that id."""
    from temporalio.service import RPCError, RPCStatusCode

    try:
        return await client.get_workflow_handle(run_id).describe()
    except RPCError as exc:
        if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
            raise UsageError(
                f"No run {run_id!r} in namespace {client.namespace!r}: check the id "
                "(`refinire-flow runs` lists recent runs) and TEMPORAL_ADDRESS/TEMPORAL_NAMESPACE."
            ) from None
        raise


def ended_as(desc: Any) -> str | None:
    """The status name of a run that has ended, ``None`` while it runs."""
    status = getattr(desc, "status", None)
    name = getattr(status, "name", None)
    return None if name in (None, "RUNNING") else name.lower().replace("_", " ")
