"""``refinire-flow codec-server``: lets the Temporal UI show encrypted payloads to those holding the key.

The UI posts ``{"payloads": [...]}`` (Temporal's JSON form of Payloads) to ``<endpoint>/decode``
(and ``/encode``) from the browser and shows what comes back. The key never leaves this process;
the Temporal server never sees it. Point the UI at it with ``temporal server start-dev
--ui-codec-endpoint http://127.0.0.1:8888`` or, in the UI, the "Data Encoder" settings.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Sequence

from google.protobuf.json_format import MessageToDict, ParseDict
from temporalio.api.common.v1 import Payloads

from .codec import KEY_ENV, CodecError, EncryptionCodec, codec_from_env
from .embedded import port_argument

__all__ = ["main", "make_server", "serve"]

DEFAULT_PORT = 8888
DEFAULT_ORIGINS = ("http://localhost:8233", "http://127.0.0.1:8233")


def _handler(codec: EncryptionCodec, origins: Sequence[str]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _cors(self) -> None:
            origin = self.headers.get("origin")
            if origin and ("*" in origins or origin in origins):
                self.send_header("access-control-allow-origin", origin)
                self.send_header("access-control-allow-credentials", "true")
                self.send_header("access-control-allow-methods", "POST, OPTIONS")
                self.send_header("access-control-allow-headers", "content-type, x-namespace, authorization")
                self.send_header("vary", "origin")

        def _reply(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self._cors()
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_OPTIONS(self) -> None:
            self.send_response(204)
            self._cors()
            self.send_header("content-length", "0")
            self.end_headers()

        def do_POST(self) -> None:
            op = self.path.rstrip("/").rsplit("/", 1)[-1]
            if op not in ("encode", "decode"):
                return self._reply(404, {"message": f"Unknown path {self.path!r}; use /encode or /decode."})
            try:
                raw = self.rfile.read(int(self.headers.get("content-length", 0)) or 0)
                payloads = ParseDict(json.loads(raw or b"{}"), Payloads()).payloads
                fn = codec.encode if op == "encode" else codec.decode
                out = Payloads(payloads=asyncio.run(fn(list(payloads))))
            except CodecError as exc:
                return self._reply(400, {"message": str(exc)})
            except Exception as exc:
                return self._reply(400, {"message": f"Bad request to /{op}: {type(exc).__name__}: {exc}. "
                                                    'Send {"payloads": [...]} as Temporal JSON.'})
            self._reply(200, MessageToDict(out))

    return Handler


def make_server(port: int = DEFAULT_PORT, *, host: str = "127.0.0.1", codec: EncryptionCodec | None = None,
                origins: Sequence[str] = DEFAULT_ORIGINS) -> ThreadingHTTPServer:
    """A server ready to ``serve_forever()``; ``server_address[1]`` is the port (0 picks a free one)."""
    codec = codec or codec_from_env()
    if codec is None:
        raise SystemExit(f"Set {KEY_ENV} (base64 of 32 bytes) to the key your workers use.")
    httpd = ThreadingHTTPServer((host, port), _handler(codec, tuple(origins)))
    httpd.daemon_threads = True
    return httpd


def serve(port: int = DEFAULT_PORT, *, host: str = "127.0.0.1",
          origins: Sequence[str] = DEFAULT_ORIGINS) -> None:
    httpd = make_server(port, host=host, origins=origins)
    print(f"codec server on http://{host}:{httpd.server_address[1]} (UI origins: {', '.join(origins)})",
          flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=port_argument, default=DEFAULT_PORT,
                        help=f"port to serve on, 1 to 65535 (default {DEFAULT_PORT})")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--ui-origin", action="append", dest="origins", metavar="URL",
                        help=f"origin of the Temporal UI allowed to call (default: {', '.join(DEFAULT_ORIGINS)}; "
                             "'*' allows any)")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="refinire-flow codec-server", description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    serve(args.port, host=args.host, origins=args.origins or DEFAULT_ORIGINS)


if __name__ == "__main__":
    main()
