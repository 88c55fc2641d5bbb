"""A real HTTP server on 127.0.0.1 that speaks OpenAI's chat-completions API, scripted per test.

Agent tests go through the real ``openai`` client to this server: replies come from a queue or
from a function of the request, errors carry real status codes and Retry-After headers, and every
request is recorded so tests can assert on what the workers asked.

Fixtures (``pytest_plugins = ["openai_server"]``): ``openai_server`` (session) and ``llm``
(per test: a reset server with OPENAI_BASE_URL / OPENAI_API_KEY set for this process).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

import pytest


@dataclass
class Reply:
    content: Any = ""
    """Text, or a dict sent as JSON text (structured output)."""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    hold: threading.Event | None = None
    """Block the response until this event is set (to kill a worker mid-call)."""


def error(status: int, message: str = "scripted error", retry_after: float | None = None) -> Reply:
    headers = {"retry-after": f"{retry_after:g}"} if retry_after is not None else {}
    return Reply({"error": {"message": message, "type": "scripted", "code": status}}, status, headers)


@dataclass
class Request:
    body: dict[str, Any]
    headers: dict[str, str]
    usage: dict[str, int] | None = None
    """The token counts the reply reported (prompt: the request's words; completion: the reply's)."""

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body.get("messages", [])

    @property
    def system(self) -> str:
        return "\n".join(m["content"] for m in self.messages if m["role"] == "system")

    @property
    def user(self) -> str:
        return "\n".join(m["content"] for m in self.messages if m["role"] == "user")

    @property
    def schema(self) -> str | None:
        """The structured-output schema's name (``Evaluation``, ``Clarity``), else ``None``."""
        fmt = self.body.get("response_format") or {}
        return (fmt.get("json_schema") or {}).get("name") if fmt.get("type") == "json_schema" else None

    @property
    def activity(self) -> str:
        return self.headers.get("x-refinire-activity", "")

    @property
    def step(self) -> str:
        return self.headers.get("x-refinire-step", "")


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        """A worker killed on purpose mid-request drops its connection; that is not a test error."""
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


class OpenAIServer:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.queue: list[Any] = []
        self.respond: Callable[[Request], Any] | None = None
        self.lock = threading.Lock()
        self.seen = threading.Condition(self.lock)
        self.httpd = _QuietServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.queue.clear()
            self.respond = None

    def script(self, *replies: Any) -> None:
        with self.lock:
            self.queue.extend(replies)

    def wait_for(self, predicate: Callable[[Request], bool], timeout: float = 30.0) -> Request:
        """Block until a recorded request matches (use from a thread: ``asyncio.to_thread``)."""
        deadline = time.monotonic() + timeout
        with self.seen:
            while True:
                hit = next((r for r in self.requests if predicate(r)), None)
                if hit is not None:
                    return hit
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no matching request; saw {[r.activity for r in self.requests]}")
                self.seen.wait(left)

    def _next_reply(self, req: Request) -> Reply:
        with self.seen:
            self.requests.append(req)
            self.seen.notify_all()
            scripted = self.queue.pop(0) if self.queue else None
            respond = self.respond
        if scripted is None:
            scripted = respond(req) if respond else f"reply {len(self.requests)}"
        return scripted if isinstance(scripted, Reply) else Reply(scripted)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
                req = Request(body, {k.lower(): v for k, v in self.headers.items()})
                if not self.path.endswith("/chat/completions"):
                    return self._send(Reply({"error": {"message": "not found"}}, 404), req)
                reply = server._next_reply(req)
                if reply.hold is not None:
                    reply.hold.wait(60)
                self._send(reply, req)

            def _send(self, reply: Reply, req: Request) -> None:
                if reply.status != 200:
                    payload = reply.content
                else:
                    text = reply.content if isinstance(reply.content, str) else json.dumps(reply.content)
                    prompt = sum(len(str(m.get("content", "")).split()) for m in req.messages)
                    done = len(text.split())
                    payload = {
                        "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()),
                        "model": req.body.get("model", "test-model"),
                        "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": text}}],
                        "usage": {"prompt_tokens": prompt, "completion_tokens": done,
                                  "total_tokens": prompt + done},
                    }
                    req.usage = payload["usage"]
                data = json.dumps(payload).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the caller died while we held the reply

        return Handler


@pytest.fixture(scope="session")
def openai_server():
    server = OpenAIServer()
    server.thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()


@pytest.fixture
def llm(openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> OpenAIServer:
    openai_server.reset()
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-secret")
    return openai_server
