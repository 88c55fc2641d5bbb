"""The workflow type of runs started before 0.4.0, ``RefinireFlow``: one ``FlowRun`` argument.

Runs of format 3 are workflows named after their flow (``FlowByName``, a dynamic workflow); runs
recorded earlier keep their type and must keep replaying and finishing, so every worker and replayer
registers both (``WORKFLOWS``). It lives apart from ``flow_workflow`` so that the sandbox, which
loads a run's workflow module anew for every run, decorates one class for a new run, not two.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import RawValue

from .flow_workflow import FlowByName, Interpreter

with workflow.unsafe.imports_passed_through():
    from .io import WORKFLOW_NAME, FlowResult, FlowRun


@workflow.defn(name=WORKFLOW_NAME)
class FlowWorkflow(Interpreter):
    """Runs started as ``RefinireFlow`` (formats 1 and 2, or a flow itself named so)."""

    @workflow.run
    async def run(self, run: FlowRun) -> FlowResult | RawValue:
        return await self._run(run)


WORKFLOWS = [FlowWorkflow, FlowByName]
"""Every worker and replayer registers both: old runs by their type, new ones by any other."""
