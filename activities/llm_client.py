"""The OpenAI client the LLM activities share, and the one place OpenAI errors become Temporal ones.

Temporal owns retries: the client never retries by itself (``max_retries=0``); a failed call
becomes an ``ApplicationError`` that is retryable or not, and a server's Retry-After becomes the
delay before Temporal's next attempt.
"""

from __future__ import annotations

import asyncio
import email.utils
import os
import time
import weakref
from datetime import timedelta
from typing import Any

from temporalio.exceptions import ApplicationError

RETRYABLE_STATUS = {408, 409, 429}
NO_KEY_PLACEHOLDER = "not-needed"
MAX_RETRY_AFTER_S = 300.0


class MissingAPIKey(Exception):
    pass


class OpenAIChat:
    """Holds one ``AsyncOpenAI`` per event loop and (key, base URL) seen in the environment, made
    on first use.

    Building agents needs no key; only a call reads ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL``.
    A client's connection pool belongs to the event loop that first used it, so each loop gets its
    own: a worker has one loop, but ``agent.run_async`` may be awaited under several
    ``asyncio.run`` calls (or test event loops) in one process.
    """

    def __init__(self) -> None:
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, str | None], Any]] = (
            weakref.WeakKeyDictionary())

    @staticmethod
    def settings() -> tuple[str, str | None]:
        key = os.environ.get("OPENAI_API_KEY") or None
        base_url = os.environ.get("OPENAI_BASE_URL") or None
        if key is None and base_url is None:
            raise MissingAPIKey(
                "No OpenAI credentials on this worker: set OPENAI_API_KEY (or OPENAI_BASE_URL for an "
                "OpenAI-compatible server such as vLLM, Ollama or llama.cpp) in the environment of the "
                "process that runs the worker, then retry the run.")
        return key or NO_KEY_PLACEHOLDER, base_url

    def client(self) -> Any:
        from openai import AsyncOpenAI

        key, base_url = self.settings()
        clients = self._clients.setdefault(asyncio.get_running_loop(), {})
        client = clients.get((key, base_url))
        if client is None:
            client = AsyncOpenAI(api_key=key, base_url=base_url, max_retries=0)
            clients[(key, base_url)] = client
        return client

    async def create(self, **kwargs: Any) -> Any:
        try:
            return await self.client().chat.completions.create(**kwargs)
        except Exception as exc:
            raise to_application_error(exc, kwargs.get("model")) from exc


def retry_after_s(headers: Any) -> float | None:
    """Seconds a server asked us to wait (``retry-after-ms``, ``retry-after`` seconds or HTTP date)."""
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return min(float(ms) / 1000.0, MAX_RETRY_AFTER_S)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER_S)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        if parsed is None:
            return None
        return min(max(parsed.timestamp() - time.time(), 0.0), MAX_RETRY_AFTER_S)


def to_application_error(exc: BaseException, model: str | None = None) -> ApplicationError:
    """Every failure of a model call, as the Temporal error that decides whether to retry it."""
    import openai

    if isinstance(exc, ApplicationError):
        return exc
    if isinstance(exc, MissingAPIKey):
        return ApplicationError(str(exc), type="MissingAPIKey", non_retryable=True)
    where = f"model {model!r}" if model else "the model"
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        retryable = status in RETRYABLE_STATUS or status >= 500
        hint = {
            401: " Check OPENAI_API_KEY on the worker.",
            403: " The key is not allowed to use this model or endpoint.",
            404: " Check the agent's model name and OPENAI_BASE_URL.",
            400: " The request was rejected; check the agent's model and parameters.",
            422: " The request was rejected; check the agent's model and parameters.",
        }.get(status, "")
        delay = retry_after_s(exc.response.headers) if retryable else None
        return ApplicationError(
            f"OpenAI API returned HTTP {status} for {where}: {_body_message(exc)}.{hint}",
            {"status": status, "retry_after_s": delay},
            type=type(exc).__name__, non_retryable=not retryable,
            next_retry_delay=timedelta(seconds=delay) if delay else None,
        )
    if isinstance(exc, openai.APIConnectionError):
        base = os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
        return ApplicationError(f"Could not reach the OpenAI API at {base} for {where}: {exc}",
                                type=type(exc).__name__)
    return ApplicationError(f"Model call for {where} failed: {type(exc).__name__}: {exc}",
                            type=type(exc).__name__)


def _body_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
    return str(getattr(exc, "message", exc))
