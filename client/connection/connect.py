"""One way to get a Temporal client: a configured cluster, or the embedded dev server.

``TEMPORAL_ADDRESS`` / ``TEMPORAL_NAMESPACE`` (and Temporal's env-config profiles, via
``TEMPORAL_PROFILE`` or ``TEMPORAL_CONFIG_FILE``) select a cluster; with none of them set, the
embedded server on localhost:7233 (``REFINIRE_EMBEDDED_PORT``) is reused or started.
"""

from __future__ import annotations

import asyncio
import os
import re
import weakref
from typing import Any

from temporalio.client import Client

from refinire.errors import FlowExecutionError

from . import embedded
from . import exit_guard
from . import settings

TIMEOUT_ENV = "REFINIRE_CONNECT_TIMEOUT"
DEFAULT_TIMEOUT_S = 10.0

_CLIENTS: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Client]" = weakref.WeakKeyDictionary()
_SA_READY: dict[int, bool] = {}
_ENV_KEYS = ("TEMPORAL_ADDRESS", "TEMPORAL_PROFILE", "TEMPORAL_CONFIG_FILE")


def configured() -> bool:
    return any(os.environ.get(k) for k in _ENV_KEYS)


def connect_config() -> dict[str, Any]:
    if not configured():
        return {"target_host": f"127.0.0.1:{embedded.configured_port()}", "namespace": "default"}
    from temporalio.envconfig import ClientConfig

    cfg = dict(ClientConfig.load_client_connect_config())
    cfg.setdefault("namespace", os.environ.get("TEMPORAL_NAMESPACE", "default"))
    return cfg


def connect_timeout_s() -> float:
    """Seconds to wait for a server that accepts connections but does not answer:
    ``REFINIRE_CONNECT_TIMEOUT``, else 10.

    Raises:
        SettingError: The variable is not a number of seconds above 0 (up to a day).
    """
    return settings.seconds(TIMEOUT_ENV, DEFAULT_TIMEOUT_S,
                            meaning="how long to wait for a Temporal server that does not answer")


async def connect(*, fresh: bool = False) -> Client:
    """A client for this event loop (clients are cached per loop, as asyncio.run makes new ones)."""
    loop = asyncio.get_running_loop()
    if not fresh and loop in _CLIENTS:
        return _CLIENTS[loop]
    limit = connect_timeout_s()
    cfg = connect_config()
    if not configured():
        await embedded.ensure_server()
    from .codec import data_converter

    converter = data_converter()
    exit_guard.install()  # before the first connect: a failed one has started the SDK's runtime too
    _forward_core_logs()
    try:
        client = await _connect_when_healthy(cfg, converter, limit)
    except Exception as exc:
        if "across forks" in str(exc):
            raise FlowExecutionError(forked_message(exc)) from None
        where = "TEMPORAL_ADDRESS/TEMPORAL_PROFILE" if configured() else "the embedded server"
        why = f"no answer within {limit:g} s" if isinstance(exc, asyncio.TimeoutError) else exc
        raise FlowExecutionError(
            f"Cannot reach Temporal at {cfg.get('target_host')!r} ({where}): {why}. Start a server "
            "(`refinire-flow server`) or fix the address; unset TEMPORAL_ADDRESS to use the "
            "embedded server."
        ) from None
    if not fresh:
        _CLIENTS[loop] = client
    return client


async def _connect_when_healthy(cfg: dict[str, Any], converter: Any, limit: float) -> Client:
    """``Client.connect`` within ``limit`` seconds, again while the server says it is starting
    ("Frontend is not healthy yet": it listens before it serves, as one just started does)."""
    end = _now() + limit
    while True:
        try:
            return await asyncio.wait_for(Client.connect(**cfg, data_converter=converter),
                                          max(end - _now(), 0.001))
        except Exception as exc:
            if "not healthy yet" not in str(exc) or _now() + 0.2 >= end:
                raise
        await asyncio.sleep(0.2)


def _now() -> float:
    return asyncio.get_running_loop().time()


def forked_message(exc: BaseException) -> str:
    """What to say when the SDK refuses this process because it was forked from one whose Temporal
    runtime was started (the runtime's threads do not survive ``fork``)."""
    found = re.search(r"original runtime PID is (\d+)", str(exc))
    parent = f" (process {found.group(1)})" if found else ""
    return (f"Cannot use Temporal in process {os.getpid()}: it was forked from a process that had "
            f"already used Temporal{parent}, and the Temporal SDK cannot be used across fork. Start "
            "the processes that run flows with multiprocessing's 'spawn' start method: "
            "multiprocessing.get_context(\"spawn\").Pool(...) or .Process(...) "
            "(or as subprocesses), not 'fork'.")


_FORWARDING: list[bool] = []


def _forward_core_logs() -> None:
    """Once per process, before its first client: the core's warnings go to stderr, not stdout."""
    if not _FORWARDING:
        from .core_logs import forward_core_logs

        _FORWARDING.append(forward_core_logs())


async def search_attributes_ready(client: Client) -> bool:
    """Whether FlowName/FlowStep/FlowStatus exist on the server (registered here when we may)."""
    key = id(client)
    if key in _SA_READY:
        return _SA_READY[key]
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import (
        AddSearchAttributesRequest,
        ListSearchAttributesRequest,
    )

    ns = client.namespace
    ready = False
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=ns))
        have = set(listed.custom_attributes) | set(listed.system_attributes)
        missing = [n for n in embedded.SEARCH_ATTRIBUTES if n not in have]
        if missing and not configured():
            await client.operator_service.add_search_attributes(AddSearchAttributesRequest(
                namespace=ns,
                search_attributes={n: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for n in missing}))
            missing = []
        ready = not missing
    except Exception:
        ready = False
    _SA_READY[key] = ready
    return ready


def ui_base() -> str | None:
    if configured():
        return os.environ.get("TEMPORAL_UI_URL")
    return f"http://localhost:{embedded.configured_ui_port()}"


def ui_url(client: Client, workflow_id: str) -> str | None:
    base = ui_base()
    if not base:
        return None
    return f"{base}/namespaces/{client.namespace}/workflows/{workflow_id}"
