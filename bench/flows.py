"""The flows under test: n light function steps, the same as local activities, and the guide's
§2.2 fan-out. Named explicitly so their task queues are stable."""

from __future__ import annotations

from refinire import Flow, FunctionStep

from bench.steps import add_one, combine, sleep_one

STEP_COUNTS = (1, 3, 10)


def chain(n: int, *, local: bool = False) -> Flow:
    suffix = "-local" if local else ""
    steps = [FunctionStep(f"s{i}", add_one) for i in range(1, n + 1)]
    return Flow(steps=steps, name=f"bench.chain{n}{suffix}", local=local)


def fanout() -> Flow:
    """The guide's §2.2 flow, as written there (three one-second branches, max_workers=3)."""
    return Flow(name="bench.fanout", start="preprocess", steps={
        "preprocess": FunctionStep("preprocess", lambda data, ctx: data),
        "parallel_analysis": {
            "parallel": [
                FunctionStep("sentiment", sleep_one),
                FunctionStep("keywords", sleep_one),
                FunctionStep("category", sleep_one),
            ],
            "next_step": "combine",
            "max_workers": 3,
        },
        "combine": FunctionStep("combine", combine),
    })
