"""A worker SIGKILLed during a model call, inside the evaluate/regenerate loop, and while a run
waits for a person's answer. Every model call is its own activity: a finished call is never sent
again, the one in flight is. The fake API key never reaches the recorded histories.

The model answers by call (``_by_call``), not in order: on a loaded machine a 1 s heartbeat can
time out before the kill and Temporal then sends the call in flight again, which is the promise
too. What is checked is what went out after the kill.
"""

from __future__ import annotations

import asyncio
import threading
import time

from google.protobuf.json_format import MessageToJson
from temporalio.api.history.v1 import History

import procs
from client.running.start import start_run
from openai_server import Reply
from reliability import flows_agents, ledger as L
from reliability.conftest import FAKE_KEY as KEY
from reliability.workers import start_polling, until_async
from workflows.waits import Answer, PendingQuestion

MODULES = ["reliability.flows_agents"]

async def _killed_during(client, llm, flow, tag: str, activity: str, tmp_path, workers):
    """Start a run, wait for the model request ``activity``, then kill its worker with a spare ready.

    Returns the run's handle and how many requests the model had when the worker died."""
    victim = await start_polling(client, MODULES, flow.durable_name, tmp_path / "w1.log")
    workers.append(victim)
    handle = await start_run(client, flow.durable_name, None, tag, None, tag)
    await asyncio.to_thread(llm.wait_for, lambda r: r.activity == activity, 60)
    spare = await start_polling(client, MODULES, flow.durable_name, tmp_path / "w2.log")
    workers.append(spare)
    procs.kill(victim)
    return handle, len(llm.requests)


def _by_call(replies: dict[str, object], hold: threading.Event | None = None, held: str = ""):
    """The model's answer to each call (the same for every attempt); the first ``held`` call waits."""
    first = []

    def respond(req):
        if req.activity == held and not first:
            first.append(req)
            return Reply("lost", hold=hold)
        return replies.get(req.activity, f"unexpected call {req.activity!r}")

    return respond


def _sent(llm, start: int = 0) -> list[str]:
    return [r.activity for r in llm.requests[start:]]


def _calls(llm) -> list[str]:
    """The calls sent, attempts of one call in a row counted once."""
    sent = _sent(llm)
    return [a for i, a in enumerate(sent) if i == 0 or sent[i - 1] != a]


async def _assert_key_not_in_history(client, run_id: str) -> None:
    history = History(events=(await client.get_workflow_handle(run_id).fetch_history()).events)
    assert b"prep" in history.SerializeToString()  # the scan does see the run's payloads
    assert KEY.encode() not in history.SerializeToString() and KEY not in MessageToJson(history)


async def test_killed_during_generation_repeats_only_that_call(client, model, ledger, tmp_path, workers):
    hold = threading.Event()
    tag = f"gen-{time.time_ns()}"
    model.respond = _by_call({"writer#2.gen1": tag}, hold, held="writer#2.gen1")
    handle, _ = await _killed_during(client, model, flows_agents.generate_flow, tag, "writer#2.gen1",
                                     tmp_path, workers)
    hold.set()
    result = await handle.result()
    assert result.output == tag
    assert _calls(model) == ["writer#2.gen1"] and len(_sent(model)) >= 2  # the interrupted call, sent again
    seen = L.counts(ledger, tag)
    assert seen[("prep", "end")] == 1 and seen[("post", "end")] == 1
    await _assert_key_not_in_history(client, handle.id)


async def test_killed_inside_the_evaluation_loop_keeps_finished_generations(
        client, model, ledger, tmp_path, workers):
    hold = threading.Event()
    model.respond = _by_call({"poet#2.gen1": "draft one", "poet#2.eval1": {"score": 40, "feedback": "add a season"},
                              "poet#2.gen2": "draft two", "poet#2.eval2": {"score": 90, "feedback": "good"}},
                             hold, held="poet#2.gen2")
    tag = f"eval-{time.time_ns()}"
    handle, killed_at = await _killed_during(client, model, flows_agents.evaluate_flow, tag, "poet#2.gen2",
                                             tmp_path, workers)
    hold.set()
    result = await handle.result()
    assert result.output == "draft two"
    assert result.context.evaluation_result["score"] == 90
    assert [h["score"] for h in result.context.evaluation_result["history"]] == [40, 90]
    assert _calls(model) == ["poet#2.gen1", "poet#2.eval1", "poet#2.gen2", "poet#2.eval2"]
    assert _sent(model).count("poet#2.gen2") >= 2  # the interrupted call, sent again
    assert not {"poet#2.gen1", "poet#2.eval1"} & set(_sent(model, killed_at))  # the finished ones not
    regen = [r for r in model.requests if r.activity == "poet#2.gen2"][-1]
    assert "add a season" in regen.user  # the retried call still carries the recorded feedback
    seen = L.counts(ledger, tag)
    assert seen[("prep", "end")] == 1 and seen[("post", "end")] == 1
    await _assert_key_not_in_history(client, handle.id)


async def test_killed_while_waiting_for_an_answer_the_answer_still_lands(
        client, model, ledger, tmp_path, workers):
    model.respond = _by_call({
        "ask#2.clarify1": {"score": 20, "clarification_question": "Which city?", "reason": "no destination"},
        "ask#2.clarify2": {"score": 95, "clarification_question": "", "reason": "clear"}})
    flow = flows_agents.clarify_flow
    victim = await start_polling(client, MODULES, flow.durable_name, tmp_path / "w1.log")
    workers.append(victim)
    tag = f"ask-{time.time_ns()}"
    handle = await start_run(client, flow.durable_name, None, tag, None, tag)

    async def asked() -> bool:
        q = await handle.query("pending_question", result_type=PendingQuestion)
        return q is not None and q.question == "Which city?"

    await until_async(asked, "the run to wait for an answer")
    spare = await start_polling(client, MODULES, flow.durable_name, tmp_path / "w2.log")
    workers.append(spare)
    procs.kill(victim)
    killed_at = len(model.requests)
    await handle.execute_update("answer", Answer(text="Kyoto"))
    result = await handle.result()
    clar = result.context.clarification_result
    assert clar["is_clear"] and clar["answers"] == [{"question": "Which city?", "answer": "Kyoto"}]
    assert _calls(model) == ["ask#2.clarify1", "ask#2.clarify2"]
    assert set(_sent(model, killed_at)) == {"ask#2.clarify2"}  # the first judgement not redone
    seen = L.counts(ledger, tag)
    assert seen[("prep", "end")] == 1 and seen[("post", "end")] == 1
    await _assert_key_not_in_history(client, handle.id)
