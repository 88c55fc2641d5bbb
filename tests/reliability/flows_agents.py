"""Agent flows the worker-crash tests run in worker subprocesses, against the test OpenAI server.

``prep`` keeps the run's tag in shared_state, so ``post`` can write the ledger whatever the agent
answered. Agent steps heartbeat every second of a model call, like the function steps' tests.
"""

from __future__ import annotations

from refinire import ClarifyAgent, Flow, FunctionStep, RefinireAgent
from reliability.flows_crash import HEARTBEAT_S
from reliability.ledger import mark


def prep(data, ctx):
    mark(data, "prep", "start")
    ctx.shared_state["tag"] = data
    mark(data, "prep", "end")
    return data


def post(data, ctx):
    tag = ctx.shared_state["tag"]
    mark(tag, "post", "start")
    mark(tag, "post", "end")
    return data


def _flow(name: str, agent) -> Flow:
    return Flow(start="prep", steps={
        "prep": FunctionStep("prep", prep, next_step=agent.name),
        agent.name: agent,
        "post": FunctionStep("post", post),
    }, name=name)


generate_flow = _flow("rel.agent:generate", RefinireAgent(
    "writer", "Repeat the input", model="m-test", heartbeat=HEARTBEAT_S, next_step="post"))

evaluate_flow = _flow("rel.agent:evaluate", RefinireAgent(
    "poet", "Write a haiku", "Score the haiku", model="m-test", threshold=80, max_retries=2,
    heartbeat=HEARTBEAT_S, next_step="post"))

clarify_flow = _flow("rel.agent:clarify", ClarifyAgent(
    "ask", "Help plan a trip", "Ask what is missing", threshold=80, model="m-test",
    wait_for_answer=True, heartbeat=HEARTBEAT_S, next_step="post"))
