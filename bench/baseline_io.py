"""Models of the hand-written baseline: one pydantic model in, one out, like every Temporal call here."""

from __future__ import annotations

from pydantic import BaseModel

BASELINE_WORKFLOW = "BenchBaseline"
BASELINE_QUEUE = "bench.baseline"


class BaselineRun(BaseModel):
    steps: int
    value: int = 0


class StepIn(BaseModel):
    value: int


class StepOut(BaseModel):
    value: int
