"""The Temporal UI reads a run like the flow: checked through the UI's own HTTP API, as the UI does.

The dev server serves the UI (and its backend under ``/api/v1/...``, the routes of the UI's
``route-for-api.ts``) on its UI port. The session's server is headless, so this module starts its
own with a UI port. The run page is built from: the workflow's description (Workflow Type, user
metadata summary and details), its history (the start event's input, the failure of a failed run)
and the ``__temporal_workflow_metadata`` query (current details, served by a worker).
"""

from __future__ import annotations

import asyncio
import base64
import http.cookiejar
import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from temporalio.client import Client

from client.connection.codec import data_converter
from client.running.start import start_run
from client.running.handle import RunHandle
from flows.corpus import corpus_failed, corpus_function, corpus_user_input
from procs import dev_server, serving


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory):
    with dev_server(tmp_path_factory.mktemp("temporal-ui"), ui=True) as server:
        ui = f"http://127.0.0.1:{server['ui_port']}"
        _wait_for_api(ui + "/api/v1/namespaces/default", deadline_s=60)
        yield server["address"], ui


def _wait_for_api(url: str, deadline_s: float) -> None:
    """The UI listens before its backend reaches the server (it answers 503 meanwhile)."""
    end = time.monotonic() + deadline_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > end:
                raise
            time.sleep(0.1)


class UiApi:
    """The UI's backend, called in a thread (the worker shares this test's event loop)."""

    def __init__(self, base: str) -> None:
        self.base = base + "/api/v1/namespaces/default"
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def _call(self, path: str, body: dict[str, Any] | None) -> Any:
        headers = {"Content-Type": "application/json"}
        csrf = next((c.value for c in self.jar if c.name == "_csrf"), None)
        if csrf:
            headers["X-CSRF-TOKEN"] = csrf  # the UI server checks it on POST, as the UI sends it
        req = urllib.request.Request(self.base + path, headers=headers, method="POST" if body else "GET",
                                     data=json.dumps(body).encode() if body else None)
        with self.opener.open(req, timeout=30) as resp:
            return json.load(resp)

    async def get(self, path: str) -> Any:
        return await asyncio.to_thread(self._call, path, None)

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        await self.get("/workflows?pageSize=1")  # the CSRF cookie, as the UI gets it on load
        return await asyncio.to_thread(self._call, path, body)


def payload(p: dict[str, Any]) -> Any:
    """A payload as the UI decodes it (json/plain, base64 in the API's JSON)."""
    return json.loads(base64.b64decode(p["data"]))


async def test_the_run_page_shows_the_flow_its_input_output_and_where_it_is(ui_server):
    address, ui = ui_server
    client = await Client.connect(address, data_converter=data_converter())
    api = UiApi(ui)
    async with serving(client, corpus_function):
        handle = await start_run(client, corpus_function.durable_name, corpus_function,
                                 "hello", None, None)
        await handle.result()
        desc = await api.get(f"/workflows/{handle.id}")
        info = desc["workflowExecutionInfo"]
        assert info["type"]["name"] == "corpus_function"  # the list's Workflow Type column
        meta = desc["executionConfig"]["userMetadata"]
        assert payload(meta["summary"]) == "corpus_function · input 'hello'"
        assert payload(meta["details"]) == "```\nupper → exclaim → count → END\n```"

        events = (await api.get(f"/workflows/{handle.id}/history"))["history"]["events"]
        started = events[0]["workflowExecutionStartedEventAttributes"]
        inputs = [payload(p) for p in started["input"]["payloads"]]
        assert inputs[0] == "hello"  # the Input panel opens on what the user passed
        assert inputs[1]["spec"]["steps"]["upper"] == {}  # the pinned spec follows, compact
        completed = events[-1]["workflowExecutionCompletedEventAttributes"]
        result = payload(completed["result"]["payloads"][0])
        assert next(iter(result)) == "output" and result["output"] == "HELLO!"

        current = await current_details(api, handle.id, info["execution"]["runId"])
        assert current == "Completed after 3 steps\n\n```\nupper → exclaim → count → END\n```"


async def current_details(api: UiApi, run_id: str, temporal_run_id: str) -> str:
    """The run page's "current details": the UI queries ``__temporal_workflow_metadata``."""
    query = await api.post(
        f"/workflows/{run_id}/query/__temporal_workflow_metadata",
        {"execution": {"workflowId": run_id, "runId": temporal_run_id},
         "query": {"queryType": "__temporal_workflow_metadata"}})
    return payload(query["queryResult"]["payloads"][0])["currentDetails"]


async def test_the_current_details_mark_the_step_a_running_run_is_in(ui_server):
    address, ui = ui_server
    client = await Client.connect(address, data_converter=data_converter())
    api = UiApi(ui)
    async with serving(client, corpus_user_input):
        raw = await start_run(client, corpus_user_input.durable_name, corpus_user_input, None, None, None)
        handle = RunHandle(raw, corpus_user_input, client)
        await handle.wait_for_question(timeout=30)
        desc = await api.get(f"/workflows/{raw.id}")
        current = await current_details(api, raw.id, desc["workflowExecutionInfo"]["execution"]["runId"])
        assert current == ("Step **name** is waiting for an answer: What is your name?\n\n"
                           "```\n▶ name → greet → END\n```")
        await handle.answer("Ada")
        assert (await handle.result()).value == "Hello Ada"


async def test_a_failed_runs_failure_carries_the_steps_traceback(ui_server):
    address, ui = ui_server
    client = await Client.connect(address, data_converter=data_converter())
    api = UiApi(ui)
    async with serving(client, corpus_failed):
        handle = await start_run(client, corpus_failed.durable_name, corpus_failed, "x", None, None)
        with pytest.raises(Exception):
            await handle.result()
        events = (await api.get(f"/workflows/{handle.id}/history"))["history"]["events"]
        failed = events[-1]["workflowExecutionFailedEventAttributes"]["failure"]
        assert "failed at step 'broken'" in failed["message"]
        # The user's own frame, where the step raised: not only the interpreter's (SDK) frames.
        assert "in broken" in failed["stackTrace"] and "corpus.py" in failed["stackTrace"]
        # ... and only from there: not the activity, refinire calling the step or the thread pool.
        first = failed["stackTrace"].lstrip().splitlines()[0]
        assert first.startswith("File ") and "tests/flows/corpus.py" in first, failed["stackTrace"]
        assert failed["applicationFailureInfo"]["type"] == "StepFailed"
