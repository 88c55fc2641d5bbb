"""A step ends by returning or raising: one that calls ``sys.exit`` fails that attempt for good (a
non-retryable step failure naming the step and the fix; so does a router's rule), and neither the worker nor the script
hosting it ends; the run ends FAILED in Temporal instead of staying open."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid

import pytest
from temporalio.client import WorkflowExecutionStatus

import procs

FLOWS = textwrap.dedent("""
    import sys
    from refinire import Context, Flow, FunctionStep, RetrySpec, RouterAgent, Step

    def quit_sync(data, ctx):
        sys.exit(9)

    async def quit_async(data, ctx):
        sys.exit("bye")

    class Quitter(Step):
        async def run_async(self, user_input, ctx: Context) -> Context:
            raise SystemExit(4)

    def hello(data, ctx):
        return f"hello {data}"

    sync_flow = Flow(steps=[FunctionStep("q", quit_sync, retry=3)], name="exit_sync")
    async_flow = Flow(steps=[FunctionStep("q", quit_async, retry=3)], name="exit_async")
    step_flow = Flow(steps=[Quitter("q")], name="exit_step")
    def quit_rule(data, ctx):
        sys.exit(3)

    rule_flow = Flow({
        "q": RouterAgent({"name": "q", "classifier_type": "rule", "routes": {"yes": "hello"},
                          "classification_rules": {"yes": quit_rule}}),
        "hello": FunctionStep("hello", hello),
    }, name="exit_rule", retry=RetrySpec(max_attempts=3, initial_interval_s=0.2))
    ok_flow = Flow(steps=[FunctionStep("hello", hello)], name="exit_ok")
""")

SCRIPT = textwrap.dedent("""
    import asyncio, sys
    import exit_flows
    from refinire import FlowExecutionError, NonRetryableError

    async def main(name, run_id):
        try:
            await getattr(exit_flows, name).run("x", run_id=run_id)
        except FlowExecutionError as exc:
            print("cause:", type(exc.cause).__name__, isinstance(exc.cause, NonRetryableError),
                  repr(exc.cause.exit_code), flush=True)
            print("after the failure:", (await exit_flows.ok_flow.run("y")).value, flush=True)
            raise

    asyncio.run(main(sys.argv[1], sys.argv[2]))
""")


def run_script(tmp_path, name: str, run_id: str) -> subprocess.CompletedProcess:
    (tmp_path / "exit_flows.py").write_text(FLOWS)
    (tmp_path / "s.py").write_text(SCRIPT)
    env = procs.env()
    env["PYTHONPATH"] = f"{tmp_path}:{env['PYTHONPATH']}"
    return subprocess.run([sys.executable, "s.py", name, run_id], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=180)


@pytest.mark.parametrize("name,code", [("sync_flow", "9"), ("async_flow", "'bye'"), ("step_flow", "4"),
                                       ("rule_flow", "3")])
async def test_a_step_calling_sys_exit_fails_the_run_not_the_script(client, tmp_path, name, code):
    run_id = f"exit-{uuid.uuid4().hex[:8]}"
    out = run_script(tmp_path, name, run_id)
    assert out.returncode == 1, out.stderr
    # The worker and the script lived on: the next run in the same script completed.
    assert out.stdout.splitlines() == [f"cause: StepExited True {code}", "after the failure: hello y"]
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("refinire.errors.FlowExecutionError: "), last
    assert (f"step 'q' called sys.exit({code}), which would end the worker running it. A step ends "
            "by returning or raising: raise an exception to fail the step (NonRetryableError to "
            "fail it without retries).") in last, last
    assert "CancelledError" not in out.stderr
    handle = client.get_workflow_handle(run_id)
    desc = await handle.describe()
    assert desc.status == WorkflowExecutionStatus.FAILED
    # One attempt: the failure is not retried, whatever the step's retry setting.
    started = [e for e in [e async for e in handle.fetch_history_events()]
               if e.HasField("activity_task_started_event_attributes")]
    assert [e.activity_task_started_event_attributes.attempt for e in started] == [1]
