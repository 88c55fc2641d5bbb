"""The commands that become a long-lived process: ``server`` (the embedded Temporal dev server),
``worker``, ``codec-server``, and ``search-attributes`` (what a cluster needs before it serves)."""

from __future__ import annotations

import argparse
import asyncio
import os
from typing import Any

from client.connection import codec_server
from refinire.errors import SettingError

from .exits import EXIT_OK, UsageError, out
from .targets import connected, loading


def cmd_server(args: argparse.Namespace) -> int:
    from client.connection import embedded

    try:
        args.port = args.port or embedded.configured_port()
        args.ui_port = args.ui_port or embedded.configured_ui_port()
    except SettingError as exc:
        raise UsageError(str(exc)) from None
    if args.port == args.ui_port:
        raise UsageError(f"The server and its Web UI cannot share port {args.port}: give them two "
                         "ports (--port N --ui-port M; defaults 7233 and 8233).")
    where = f"127.0.0.1:{args.port}"
    if not embedded.port_free(args.port):
        from client.connection import exit_guard

        exit_guard.install()  # the probe below starts the SDK's runtime (sdk-python issue 300)
        if embedded.is_temporal(args.port):
            reuse = ("scripts and refinire-flow connect to it as they are" if args.port == embedded.configured_port()
                     else f"point clients at it with TEMPORAL_ADDRESS={where}")
            raise UsageError(
                f"A Temporal server is already listening on {where}: reuse it ({reuse}), or start "
                "another one with --port N --ui-port M.")
        raise UsageError(
            f"Port {args.port} on 127.0.0.1 is taken by another program, not a Temporal server: start "
            "the server on a free port with --port N (and point clients at it with "
            "TEMPORAL_ADDRESS=127.0.0.1:N).")
    if not embedded.port_free(args.ui_port):
        raise UsageError(f"Port {args.ui_port} for the Web UI is taken by another program: pick a free "
                         "one with --ui-port N.")
    root = embedded.data_dir()
    cmd = embedded.server_command(root / "temporal.db", args.port, args.ui_port, log_level=args.log_level)
    out(f"Temporal dev server on {where}, Web UI http://localhost:{args.ui_port}, "
         f"data in {root} (search attributes {', '.join(embedded.SEARCH_ATTRIBUTES)} registered)")
    os.execv(cmd[0], cmd)  # the server itself takes this process's place, and its signals
    return EXIT_OK


def cmd_worker(args: argparse.Namespace) -> int:
    from client.serving import worker

    from client.serving.modules import import_flows

    modules = worker.prepare(args)

    async def load() -> None:
        # In an event loop, as `run` and `show` load a flow: a module that runs its flow when
        # imported (`asyncio.run(...)` at its top level) is refused with the fix, not run.
        loading(f"the modules {modules!r}", import_flows, modules)

    asyncio.run(load())

    async def serve() -> None:
        # Until serve() takes SIGINT/SIGTERM over (then they stop it cleanly: 0), Ctrl-C is 130.
        await worker.serve(modules, await connected(), graceful_shutdown_s=args.graceful_shutdown)

    asyncio.run(serve())
    return EXIT_OK


def cmd_search_attributes(args: argparse.Namespace) -> int:
    from client.connection.embedded import SEARCH_ATTRIBUTES

    for name in SEARCH_ATTRIBUTES:
        out(f"temporal operator search-attribute create --namespace {args.namespace} "
             f"--name {name} --type Keyword")
    return EXIT_OK


def cmd_codec_server(args: argparse.Namespace) -> int:
    from client.connection.codec import KEY_ENV, codec_from_env

    if codec_from_env() is None:
        raise UsageError(f"{KEY_ENV} is not set: the codec server needs the payload key to decrypt. "
                         "Set it to the key the workers use.")
    codec_server.serve(args.port, host=args.host, origins=args.origins or codec_server.DEFAULT_ORIGINS)
    return 0
