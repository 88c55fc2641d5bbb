"""Secrets and data at rest: no API key in any recorded history; optional AES-GCM payload
encryption (REFINIRE_PAYLOAD_KEY) that the server only ever sees as ciphertext, readable by whoever
holds the key, and by the Temporal UI through the codec server.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
import urllib.error
import urllib.request

import pytest
from google.protobuf.json_format import MessageToDict
from temporalio.api.common.v1 import Payloads
from temporalio.api.history.v1 import History
from temporalio.client import Client, WorkflowFailureError
from temporalio.contrib.pydantic import pydantic_data_converter

from client.connection.codec import ENCODING, KEY_ENV, CodecError, EncryptionCodec, parse_key
from client.connection.codec_server import make_server
from client.connection.connect import connect
from client.running.start import start_run
from refinire import Flow, FunctionStep, RefinireAgent
from reliability.conftest import FAKE_KEY
from client.serving.worker import build_worker

UI = "http://localhost:8233"


async def _raw(client, run_id: str) -> bytes:
    events = (await client.get_workflow_handle(run_id).fetch_history()).events
    return History(events=events).SerializeToString()


async def test_no_recorded_history_in_the_namespace_contains_an_api_key(client, model):
    await Flow(steps=RefinireAgent("keeper", "Answer", model="m-test"), name="rel-secret-scan").run("q")
    scanned = with_llm = 0
    async for run in client.list_workflows():
        raw = await _raw(client, run.id)
        scanned += 1
        with_llm += b"refinire.llm." in raw
        assert FAKE_KEY.encode() not in raw and b"sk-test-not-a-secret" not in raw, run.id
    assert with_llm >= 1 and scanned >= with_llm
    print(f"scanned {scanned} histories ({with_llm} with model calls): no API key")


@pytest.fixture
def payload_key(monkeypatch):
    key = base64.b64encode(os.urandom(32)).decode()
    monkeypatch.setenv(KEY_ENV, key)
    return key


def _shout(data, ctx):
    if data.startswith("fail"):
        raise ValueError(f"cannot shout {data!r}")
    return data.upper()


async def _one_run(client: Client, name: str, data: str):
    flow = Flow(steps=[FunctionStep("shout", _shout)], name=name, retry=1)
    async with build_worker(client, flow):
        handle = await start_run(client, flow.durable_name, flow, data, None, f"{name}-{time.time_ns()}")
        try:
            return handle.id, await handle.result()
        except WorkflowFailureError as err:
            return handle.id, err


async def test_payloads_are_sealed_at_rest_and_read_with_the_key(client, payload_key):
    sealed = await connect(fresh=True)
    plain = await Client.connect(client.service_client.config.target_host, namespace=client.namespace,
                                 data_converter=pydantic_data_converter)
    secret = f"plaintext-marker-{time.time_ns()}"
    run_id, result = await _one_run(sealed, "rel-sealed", secret)
    assert result.output == secret.upper()  # whoever holds the key reads results as usual

    raw = await _raw(plain, run_id)
    assert secret.encode() not in raw and secret.upper().encode() not in raw
    events = (await plain.get_workflow_handle(run_id).fetch_history()).events
    started = events[0].workflow_execution_started_event_attributes.input.payloads[0]
    assert started.metadata["encoding"] == ENCODING and started.metadata["encryption-key-id"]
    with pytest.raises(Exception):
        await plain.get_workflow_handle(run_id).result()  # without the key: unreadable

    failed_id, err = await _one_run(sealed, "rel-sealed", f"fail-{secret}")
    assert secret in str(err.cause)  # the key holder reads the failure message ...
    assert secret.encode() not in await _raw(plain, failed_id)  # ... the server never sees it

    old_id, _ = await _one_run(plain, "rel-unsealed", "written before the key")
    old = await sealed.get_workflow_handle(old_id).result()  # turning encryption on strands nothing
    assert old["output"] == "WRITTEN BEFORE THE KEY"


def _post(url: str, body: dict | None, method: str = "POST") -> tuple[int, dict, dict]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"content-type": "application/json", "origin": UI,
                                          "x-namespace": "default"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            text = resp.read()
            return resp.status, dict(resp.headers), json.loads(text) if text else {}
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), json.loads(err.read())


async def test_the_codec_server_decodes_for_the_ui_only_with_the_right_key():
    codec = EncryptionCodec(os.urandom(32))
    secret = f"for-the-ui-{time.time_ns()}"
    plain = pydantic_data_converter.payload_converter.to_payloads([{"note": secret}])
    body = MessageToDict(Payloads(payloads=await codec.encode(plain)))
    for key, expect in ((codec, 200), (EncryptionCodec(os.urandom(32)), 400)):
        httpd = make_server(0, codec=key)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{httpd.server_address[1]}"
        try:
            status, headers, out = _post(base + "/decode", body)
            assert status == expect, out
            assert headers.get("access-control-allow-origin") == UI
            if expect == 200:
                decoded = base64.b64decode(out["payloads"][0]["data"])
                assert secret.encode() in decoded
                assert base64.b64decode(out["payloads"][0]["metadata"]["encoding"]) == b"json/plain"
                status, _, again = _post(base + "/encode", out)
                assert status == 200 and base64.b64decode(again["payloads"][0]["metadata"]["encoding"]) == ENCODING
                status, headers, _ = _post(base + "/decode", None, method="OPTIONS")
                assert status == 204 and "x-namespace" in headers["access-control-allow-headers"]
            else:
                assert "sealed with key" in out["message"] and KEY_ENV in out["message"]
        finally:
            httpd.shutdown()
            httpd.server_close()


def test_a_malformed_key_is_refused_with_how_to_make_one(monkeypatch):
    with pytest.raises(CodecError, match="exactly 32 bytes.*os.urandom"):
        parse_key("dG9vIHNob3J0")
