"""Edges of ``refinire-flow`` a new user hits, each as a shell sees it: a real process against the
session's dev server, its exit status and the line a person reads."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import pytest

import procs
from workflows.io import FlowResult
from test_exit_codes import cli, error, rid, step_log  # noqa: F401 (a fixture)


def test_run_with_the_id_of_another_flows_run_exits_2_and_attaches_to_nothing():
    run_id = rid("edge-other")
    out = cli("run", "flows.ops:branchy", "hello", "--id", run_id)
    assert out.returncode == 0, out.stderr

    line = error(cli("run", "flows.ops:pipeline", "x", "--id", run_id), 2)
    assert f"Run {run_id!r} is a run of flow 'flows.ops:branchy', not of flow 'flows.ops:pipeline'" in line
    assert f"`refinire-flow watch {run_id}`" in line
    line = error(cli("run", "flows.ops:pipeline", "x", "--id", run_id, "--detach"), 2)
    assert "not of flow 'flows.ops:pipeline'" in line

    again = cli("run", "flows.ops:branchy", "hello", "--id", run_id)  # its own flow still attaches
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "long"


def test_run_with_the_id_of_a_finished_run_and_other_input_says_the_input_is_not_used():
    run_id = rid("edge-again")
    first = cli("run", "flows.ops:branchy", "hello", "--id", run_id)
    assert first.returncode == 0, first.stderr
    same = cli("run", "flows.ops:branchy", "hello", "--id", run_id)
    assert (same.returncode, same.stdout) == (0, first.stdout) and "note:" not in same.stderr
    other = cli("run", "flows.ops:branchy", "a much longer input", "--id", run_id)
    assert (other.returncode, other.stdout) == (0, first.stdout)  # the run's own result, as before
    assert (f"note: run {run_id} exists, so this attaches to it and INPUT 'a much longer input' is not "
            "used (it started with 'hello'); leave --id out, or give a new one, to start a new run") in other.stderr


@pytest.mark.parametrize("args", [("run", "flows.ops:branchy", "\udcff\udcfe"), ("show", "run-\udcff")])
def test_an_argument_that_is_not_utf8_is_bad_usage(args):
    """Bytes a terminal in another encoding sent (a str with surrogates here, as Python decodes argv)."""
    line = error(cli(*args), 2)
    assert "is not UTF-8 text: pass arguments in UTF-8" in line and "\ufffd" in line


async def _waiting(client, run_id: str) -> None:
    async def asked() -> bool:
        try:
            return await client.get_workflow_handle(run_id).query("pending_question") is not None
        except Exception:
            return False

    end = time.monotonic() + 60
    while not await asked():
        assert time.monotonic() < end, f"run {run_id} never asked its question"
        await asyncio.sleep(0.2)


async def _answer_and_finish(client, run_id: str, name: str) -> None:
    """``answer`` the run's question with ``name`` (exit 0); the run then greets that name."""
    answered = await asyncio.to_thread(cli, "answer", run_id, name)
    assert answered.returncode == 0, answered.stderr
    done = await client.get_workflow_handle(run_id, result_type=FlowResult).result()
    assert done.output == f"hello {name}"


async def _ended(client, run_id: str) -> str:
    end = time.monotonic() + 60
    while (status := (await client.get_workflow_handle(run_id).describe()).status.name) == "RUNNING":
        assert time.monotonic() < end, f"run {run_id} never ended"
        await asyncio.sleep(0.2)
    return status


async def test_rerun_from_the_step_a_cancelled_run_waited_at_waits_there_again(client, tmp_path):
    worker = procs.start_worker(["flows.ops"], tmp_path / "worker.log")
    try:
        run_id = rid("edge-waited")
        started = await asyncio.to_thread(cli, "run", "flows.ops:asking", "--id", run_id, "--detach")
        assert started.returncode == 0, started.stderr
        await _waiting(client, run_id)
        assert (await asyncio.to_thread(cli, "cancel", run_id)).returncode == 0
        assert await _ended(client, run_id) == "CANCELED"

        line = error(await asyncio.to_thread(cli, "rerun", run_id, "--from", "greet", "--detach"), 2)
        assert line == (f"error: Run {run_id!r} never reached step 'greet', so there is no context to "
                        "start it from: rerun from a step it reached. Steps the run reached: ['ask']")
        line = error(await asyncio.to_thread(cli, "rerun", run_id, "--from", "nowhere", "--detach"), 2)
        assert "has no step 'nowhere' to rerun from. Known steps: ['ask', 'greet']" in line

        rerun = await asyncio.to_thread(cli, "rerun", run_id, "--from", "ask", "--detach")
        assert rerun.returncode == 0, rerun.stderr
        new_id = rerun.stdout.strip()
        await _waiting(client, new_id)  # it waits at the step again
        await _answer_and_finish(client, new_id, "Ada")
    finally:
        procs.stop(worker)


@pytest.mark.parametrize("args, option, fix", [
    (["server", "--port", "99999"], "--port", "'99999' is not a port: use a number from 1 to 65535"),
    (["server", "--port", "0"], "--port", "'0' is not a port: use a number from 1 to 65535"),
    (["server", "--port", "-1"], "--port", "'-1' is not a port: use a number from 1 to 65535"),
    (["server", "--ui-port", "70000"], "--ui-port", "'70000' is not a port: use a number from 1 to 65535"),
    (["codec-server", "--port", "65536"], "--port", "'65536' is not a port: use a number from 1 to 65535"),
    (["worker", "flows.ops", "--metrics-port", "99999"], "--metrics-port",
     "'99999' is not a port: use a number from 1 to 65535"),
    (["worker", "flows.ops", "--graceful-shutdown", "-5"], "--graceful-shutdown",
     "'-5' is not a time to wait: use seconds from 0 to 86400 (0 stops at once; default 30)"),
    (["worker", "flows.ops", "--graceful-shutdown", "inf"], "--graceful-shutdown",
     "'inf' is not a time to wait: use seconds from 0 to 86400 (0 stops at once; default 30)"),
    (["runs", "--limit", "-3"], "--limit", "-3 runs shows nothing; use 1 or more (--all for every run)"),
    (["replay", "--flow", "x", "--limit", "0"], "--limit", "0 runs shows nothing; use 1 or more"),
    (["replay", "--flow", "x", "--limit", "two"], "--limit", "'two' is not a whole number; use 1 or more"),
])
def test_a_number_out_of_range_is_bad_usage_before_anything_starts(args, option, fix):
    line = error(cli(*args), 2)
    assert line == f"error: refinire-flow {args[0]}: argument {option}: {fix}. See `refinire-flow {args[0]} --help`."


@pytest.mark.parametrize("args, message", [
    (["--metrics-port", "99999"], "argument --metrics-port: '99999' is not a port: use a number from 1 to 65535"),
    (["--graceful-shutdown", "-5"], "argument --graceful-shutdown: '-5' is not a time to wait: use seconds "
                                    "from 0 to 86400 (0 stops at once; default 30)"),
])
def test_the_worker_script_refuses_the_same_numbers(args, message):
    """``python worker.py`` parses its options as ``refinire-flow worker`` does: exit 2, one line."""
    out = subprocess.run([sys.executable, "worker.py", "flows.ops", *args], cwd=procs.ROOT, env=procs.env(),
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip().splitlines()[-1] == f"worker.py: error: {message}"


def test_the_server_and_its_ui_on_one_port_is_bad_usage():
    line = error(cli("server", "--port", "9431", "--ui-port", "9431"), 2)
    assert line == ("error: The server and its Web UI cannot share port 9431: give them two ports "
                    "(--port N --ui-port M; defaults 7233 and 8233).")


def test_a_huge_limit_lists_every_run():
    out = cli("runs", "--limit", str(10**20))
    assert out.returncode == 0, out.stderr
    assert "showing the newest" not in out.stderr


SLOW = """
import time
from refinire import Flow, FunctionStep

def crawl(data, ctx):
    time.sleep(4)
    return data

slow = Flow(steps=[FunctionStep("crawl", crawl, step_timeout=1, retry=1)])
"""


def test_a_step_past_its_step_timeout_fails_naming_the_step_the_limit_and_the_argument(tmp_path):
    (tmp_path / "slowjob.py").write_text(SLOW)
    run_id = rid("edge-timeout")
    out = cli("run", "slowjob:slow", "x", "--id", run_id, cwd=tmp_path)
    assert out.returncode == 1 and out.stdout == "", (out.stdout, out.stderr)
    # The step runs on in its thread; its late result may be warned about (stderr) after the verdict.
    line = next(line for line in out.stderr.splitlines() if line.startswith("error: "))
    assert ("failed at step 'crawl': TimeoutError: step 'crawl' ran longer than its step_timeout of 1 s "
            "on its only attempt, so Temporal stopped it (start_to_close timeout). Give it more time "
            "with step_timeout= on the step (FunctionStep(..., step_timeout=SECONDS)) or on the flow "
            "for every step (Flow(..., step_timeout=SECONDS)), or make the step faster") in line
    shown = cli("show", run_id, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "step_timeout of 1 s" in shown.stdout


def test_show_prints_the_failed_steps_traceback_under_it(step_log):
    run_id = rid("edge-trace")
    error(cli("run", "flows.ops:pipeline", "x", "--id", run_id, **step_log), 1)
    shown = cli("show", run_id)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith("3  fragile (FunctionStep)"))
    assert lines[row].endswith("failed (ValueError: the fragile step is broken)")
    below = lines[row + 1:]
    assert below[0] == "     Traceback (most recent call last):"  # indented under the row
    assert any("flows/ops.py" in line and "in fragile" in line for line in below)
    assert 'raise ValueError("the fragile step is broken")' in "\n".join(below)
    assert "activities/" not in shown.stdout and "temporalio" not in shown.stdout  # the user's frames only


TWO_RUNS = """
import asyncio, time
from refinire import Flow, FlowExecutionError, FunctionStep

def crawl(data, ctx):
    time.sleep(data["crawl"])
    return data

def rest(data, ctx):
    time.sleep(data["rest"])
    return "rested"

pair = Flow(steps=[FunctionStep("crawl", crawl, step_timeout=1, retry=1, local=True),
                   FunctionStep("rest", rest, step_timeout=20, retry=1)])

async def late():
    try:
        await pair.run({"crawl": 3, "rest": 0})
    except FlowExecutionError as exc:
        print("failed at", exc.step)

async def main():
    # The second run keeps the script's worker up while the first run's local step, timed out
    # by the SDK core at 1 s, completes anyway: the core warns it has no such activity.
    _, rested = await asyncio.gather(late(), pair.run({"crawl": 0, "rest": 6}))
    print(rested)

if __name__ == "__main__":
    asyncio.run(main())
"""


def test_a_scripts_stdout_holds_only_what_it_prints_core_warnings_go_to_stderr(tmp_path):
    (tmp_path / "pair.py").write_text(TWO_RUNS)
    out = subprocess.run([sys.executable, "pair.py"], cwd=tmp_path, env=procs.env(), capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "failed at crawl\nrested\n"
    assert "Tried to complete untracked local activity" in out.stderr


async def test_an_answer_to_a_run_no_worker_serves_is_not_sent(client, tmp_path):
    """With no worker the answer would wait in Temporal and land long after the command gave up:
    it is refused, nothing is sent, and the run asks its question again once a worker runs."""
    run_id = rid("edge-noworker")
    started = await asyncio.to_thread(cli, "run", "flows.ops:asking", "--id", run_id, "--detach")
    assert started.returncode == 0, started.stderr
    line = error(await asyncio.to_thread(cli, "answer", run_id, "Ada"), 1)
    assert line.startswith(f"error: Run {run_id!r} has no worker: nothing serving its task queue "
                           "'refinire.flows.ops:asking' answered, so the answer was not sent.")
    worker = procs.start_worker(["flows.ops"], tmp_path / "worker.log")
    try:
        await _waiting(client, run_id)  # the refused answer never reached the run
        await _answer_and_finish(client, run_id, "Bob")
    finally:
        procs.stop(worker)


def test_rerun_with_the_id_of_an_existing_run_exits_2():
    run_id = rid("edge-taken")
    out = cli("run", "flows.ops:branchy", "hello", "--id", run_id)
    assert out.returncode == 0, out.stderr
    line = error(cli("rerun", run_id, "--from", "check", "--id", run_id, "--detach"), 2)
    assert line == (f"error: Run id {run_id!r} is taken by a run of 'flows.ops:branchy' (completed): give "
                    "the rerun another --id, or leave --id out for a fresh one.")


def test_the_commands_a_failure_suggests_can_be_pasted_into_a_shell(tmp_path):
    run_id = "edge quoted #" + rid("x")
    out = cli("run", "flows.ops:pipeline", "x", "--id", run_id, REFINIRE_TEST_LOG=str(tmp_path / "log"))
    assert out.returncode == 1, out.stderr
    assert f"`refinire-flow show '{run_id}'`" in out.stderr, out.stderr


def test_replay_where_the_flows_code_cannot_load_is_bad_usage_not_a_verdict(tmp_path):
    run_id = rid("edge-replay-nocode")
    assert cli("run", "flows.ops:branchy", "hello", "--id", run_id).returncode == 0
    out = cli("replay", run_id, cwd=tmp_path, PYTHONPATH=str(procs.ROOT))
    line = error(out, 2)
    assert line == ("error: The code of flow 'flows.ops:branchy' cannot be loaded here, so its runs were "
                    "not replayed: run replay where the flow's modules import (the project's directory), "
                    "or name them with --module.")
    assert f"FAIL  {run_id} (flows.ops:branchy)" in out.stderr
    assert cli("replay", run_id).returncode == 0  # from where the code imports, it replays
