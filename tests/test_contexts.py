"""Workers answer the SDK's serialization-context questions without the sandbox only when nothing
reads the answer (client/serving/contexts.py); a codec that reads it still gets every context."""

from __future__ import annotations

import base64
import dataclasses
import uuid
from typing import Sequence

from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.converter import (
    ActivitySerializationContext,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
    WorkflowSerializationContext,
)

from procs import serving
from refinire import Flow, FunctionStep
from client.connection.codec import data_converter
from client.running.start import start_run
from client.serving.contexts import ContextFreeRunner, needs_contexts
from client.serving.worker import SANDBOX_RUNNER, build_worker


class _Plain(PayloadCodec):
    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)


class _Recording(_Plain, WithSerializationContext):
    """Passes payloads through and records what it encodes under which context."""

    def __init__(self, seen: list[tuple[SerializationContext | None, bytes]],
                 context: SerializationContext | None = None) -> None:
        self.seen, self.context = seen, context

    def with_context(self, context: SerializationContext) -> "_Recording":
        return _Recording(self.seen, context)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        self.seen.extend((self.context, p.data) for p in payloads)
        return list(payloads)


def _with_codec(converter, codec):
    return dataclasses.replace(converter, payload_codec=codec)


def test_our_converters_need_no_context_a_context_aware_codec_does(monkeypatch):
    assert not needs_contexts(data_converter())
    monkeypatch.setenv("REFINIRE_PAYLOAD_KEY", base64.b64encode(b"k" * 32).decode())
    assert data_converter().payload_codec is not None
    assert not needs_contexts(data_converter())
    assert not needs_contexts(_with_codec(data_converter(), _Plain()))
    assert needs_contexts(_with_codec(data_converter(), _Recording([])))


async def test_a_worker_skips_the_sandbox_for_contexts_only_when_nobody_reads_them(client):
    flow = Flow(steps=[FunctionStep("one", lambda data, ctx: data)], name=f"contexts-{uuid.uuid4().hex[:6]}")
    assert isinstance(build_worker(client, flow).config()["workflow_runner"], ContextFreeRunner)

    seen: list[SerializationContext] = []
    aware = await Client.connect(client.service_client.config.target_host, namespace=client.namespace,
                                 data_converter=_with_codec(client.data_converter, _Recording(seen)))
    assert build_worker(aware, flow).config()["workflow_runner"] is SANDBOX_RUNNER


async def test_a_context_aware_codec_is_bound_to_each_payloads_own_context(client):
    seen: list[tuple[SerializationContext | None, bytes]] = []
    aware = await Client.connect(client.service_client.config.target_host, namespace=client.namespace,
                                 data_converter=_with_codec(client.data_converter, _Recording(seen)))
    flow = Flow(steps=[FunctionStep("double", lambda data, ctx: data * 2)],
                name=f"contexts-aware-{uuid.uuid4().hex[:6]}")
    async with serving(aware, flow):
        handle = await start_run(aware, flow.durable_name, flow, 21, None, None)
        result = await handle.result()
    assert result.output == 42
    run_id = handle.id
    # The workflow encodes the step's input (it holds 21) under the step's activity context, and
    # the run's result (42) under the run's workflow context.
    step_inputs = [c for c, data in seen if isinstance(c, ActivitySerializationContext)
                   and c.workflow_id == run_id and c.activity_type == "run_step" and b"21" in data]
    results = [c for c, data in seen if isinstance(c, WorkflowSerializationContext)
               and c.workflow_id == run_id and b"42" in data]
    assert step_inputs, f"the step's input was not encoded under its activity's context: {seen!r}"
    assert results, f"the run's result was not encoded under its workflow's context: {seen!r}"


def test_replays_keep_the_strict_runner_under_the_shortcut():
    """``refinire-flow replay`` loads the interpreter in the sandbox (STRICT_RUNNER) either way."""
    from client.serving.worker import STRICT_RUNNER, runner_for

    assert runner_for(data_converter(), strict=True).inner is STRICT_RUNNER
    assert runner_for(_with_codec(data_converter(), _Recording([])), strict=True) is STRICT_RUNNER
    assert runner_for(data_converter()).inner is SANDBOX_RUNNER
