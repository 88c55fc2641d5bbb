"""Runs of both workflow types on one 0.4.0 worker: a run started as ``RefinireFlow`` by a client of
an earlier version (format 2, one ``FlowRun`` argument) is served, listed, shown, answered, replayed
and rerun like a run named after its flow, and its rerun starts under the flow's name."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from client.operations import cli
from client.running.start import start_run
from procs import serving
from flows.corpus import corpus_function, corpus_user_input
from refinire.context import Context
from workflows.io import WORKFLOW_NAME, FlowResult, FlowRun, task_queue_for
from workflows.search import FLOW_NAME, FLOW_STATUS


def rid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def start_as_0_3(client: Client, flow: Any, data: Any, run_id: str):
    """What a 0.3.x client starts: the ``RefinireFlow`` type, one ``FlowRun`` of format 2."""
    name = flow.durable_name
    run = FlowRun(flow_name=name, spec=flow.spec, input=data, format=2, search_attributes=True,
                  context=Context(trace_id=flow.trace_id), code=f"flows.corpus:{name}")
    attrs = TypedSearchAttributes([SearchAttributePair(FLOW_NAME, name),
                                   SearchAttributePair(FLOW_STATUS, "Running")])
    return await client.start_workflow(WORKFLOW_NAME, run, id=run_id, task_queue=task_queue_for(name),
                                       result_type=FlowResult, search_attributes=attrs)


async def test_an_old_run_is_served_shown_replayed_and_rerun_under_the_flows_name(client, capsys):
    async with serving(client, corpus_function):
        old = await start_as_0_3(client, corpus_function, "hi", rid("old-function"))
        assert (await old.result()).output == "HI!"
        new = await start_run(client, corpus_function.durable_name, corpus_function, "ho", None, None)
        await new.result()
    assert (await old.describe()).workflow_type == WORKFLOW_NAME
    assert (await new.describe()).workflow_type == "corpus_function"

    # The CLI hosts its own worker where it needs one (rerun).
    assert await cli.amain(["runs", "--flow", "corpus_function", "--limit", "1000"]) == 0
    out = capsys.readouterr().out
    assert old.id in out and new.id in out  # both types are listed as runs of the flow

    for run_id in (old.id, new.id):
        assert await cli.amain(["show", run_id, "--format", "text"]) == 0
        shown = capsys.readouterr().out
        assert "upper" in shown and "count" in shown
        assert await cli.amain(["replay", run_id]) == 0
        assert "ok" in capsys.readouterr().out

    assert await cli.amain(["rerun", old.id, "--from", "exclaim"]) == 0
    rerun_id, output = capsys.readouterr().out.splitlines()[-2:]
    assert output == "HI!"
    assert (await client.get_workflow_handle(rerun_id).describe()).workflow_type == "corpus_function"


async def test_an_old_run_waiting_for_an_answer_is_answered_by_the_cli(client, capsys):
    async with serving(client, corpus_user_input):
        old = await start_as_0_3(client, corpus_user_input, None, rid("old-input"))

        async def asked() -> bool:
            try:
                return await old.query("pending_question") is not None
            except Exception:
                return False

        end = time.monotonic() + 30
        while not await asked():
            assert time.monotonic() < end, "the old run never asked its question"
            await asyncio.sleep(0.1)
        assert await cli.amain(["answer", old.id, "Ada"]) == 0
        assert (await old.result()).output == "Hello Ada"
