"""Exit codes, as a shell sees them: every ``refinire-flow`` command and a user's script run as real
processes against the session's dev server. Each test checks the status and the one line a person
reads (the last line on stderr)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

import procs
from client.connection import embedded
from client.operations.cli import exit_codes_help
from client.operations.exits import EXIT_CODES
from client.running.handle import RunHandle

REFINIRE_FLOW = str(Path(sys.executable).parent / "refinire-flow")


def rid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _default_sigint() -> None:
    # A shell starts background jobs with SIGINT ignored, and children inherit that: give the
    # process under test the SIGINT a terminal would deliver.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def cli(*args: str, cwd: Path = procs.TESTS, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([REFINIRE_FLOW, *args], cwd=cwd, env=procs.env(**env), capture_output=True,
                          text=True, timeout=timeout, preexec_fn=_default_sigint)


def last_line(out: subprocess.CompletedProcess) -> str:
    lines = out.stderr.strip().splitlines()
    assert lines, f"nothing on stderr (exit {out.returncode}); stdout: {out.stdout!r}"
    return lines[-1]


def error(out: subprocess.CompletedProcess, code: int) -> str:
    """The command exited ``code`` with one ``error: ...`` line and no traceback; that line."""
    assert out.returncode == code, (out.returncode, out.stdout, out.stderr)
    assert "Traceback" not in out.stderr, out.stderr
    line = last_line(out)
    assert line.startswith("error: "), out.stderr
    return line


@pytest.fixture
def step_log(tmp_path: Path) -> dict[str, str]:
    return {"REFINIRE_TEST_LOG": str(tmp_path / "steps.log")}


def test_help_documents_the_exit_codes():
    out = cli("--help")
    assert out.returncode == 0
    assert exit_codes_help() in out.stdout
    assert [code for code, _ in EXIT_CODES] == [0, 1, 2, 3, 130, 141]
    assert "  130  interrupted (Ctrl-C)" in out.stdout


def test_the_readme_tables_the_same_exit_codes():
    readme = (procs.ROOT / "README.md").read_text()
    rows = "\n".join(f"| {code} | {meaning} |" for code, meaning in EXIT_CODES)
    assert "| status | meaning |\n|---|---|\n" + rows + "\n" in readme


def test_run_exits_0_on_success_1_on_a_failed_run_2_on_bad_usage_3_without_temporal(step_log):
    out = cli("run", "flows.ops:branchy", "hello", "--id", rid("exit-ok"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "long"

    run_id = rid("exit-failed")
    line = error(cli("run", "flows.ops:pipeline", "x", "--id", run_id, **step_log), 1)
    assert "'fragile'" in line and "ValueError: the fragile step is broken" in line and run_id in line

    line = error(cli("run", "flows.ops:nothing"), 2)
    assert "has no flow 'nothing'" in line and "'pipeline'" in line
    line = error(cli("run", "flows.nowhere:flow"), 2)
    assert line.startswith("error: Cannot import module 'flows.nowhere'")
    line = error(cli("run", "not-a-flow-ref"), 2)
    assert "is not MODULE:FLOW" in line
    line = error(cli("run"), 2)
    assert line == ("error: refinire-flow run: the following arguments are required: MODULE:FLOW. "
                    "See `refinire-flow run --help`.")
    assert len(cli("run").stderr.strip().splitlines()) == 1  # no usage block: one line

    closed = embedded.free_port()
    line = error(cli("run", "flows.ops:branchy", "x", TEMPORAL_ADDRESS=f"127.0.0.1:{closed}"), 3)
    assert line.startswith(f"error: Cannot reach Temporal at '127.0.0.1:{closed}'")
    line = error(cli("runs", TEMPORAL_ADDRESS=f"127.0.0.1:{closed}"), 3)
    assert "Start a server (`refinire-flow server`) or fix the address" in line


def test_runs_limit_below_one_is_bad_usage():
    for limit in ("0", "-1"):
        assert error(cli("runs", "--limit", limit), 2) == (
            f"error: refinire-flow runs: argument --limit: {limit} runs shows nothing; use 1 or more "
            "(--all for every run). See `refinire-flow runs --help`.")


def test_a_failed_first_connection_exits_3_every_time():
    """The SDK's runtime starts with the first connect, failed or not, and its threads could abort
    CPython's teardown (SIGABRT, -6) now and then: the exit guard is in place before it starts."""
    closed = embedded.free_port()
    codes = [cli("runs", TEMPORAL_ADDRESS=f"127.0.0.1:{closed}", REFINIRE_CONNECT_TIMEOUT="3").returncode
             for _ in range(6)]
    assert codes == [3] * 6


@pytest.mark.parametrize("command", [
    ["show", "{run}"], ["answer", "{run}", "hi"], ["cancel", "{run}"], ["rerun", "{run}"],
    ["rerun", "{run}", "--from", "fetch", "--detach"], ["replay", "{run}"],
])
def test_an_unknown_run_id_is_bad_usage(command):
    run_id = rid("no-such-run")
    line = error(cli(*(a.format(run=run_id) for a in command)), 2)
    assert line == (f"error: No run {run_id!r} in namespace 'default': check the id (`refinire-flow "
                    "runs` lists recent runs) and TEMPORAL_ADDRESS/TEMPORAL_NAMESPACE.")


def test_commands_that_do_not_apply_to_a_finished_run_are_bad_usage():
    run_id = rid("exit-done")
    assert cli("run", "flows.ops:branchy", "hello", "--id", run_id).returncode == 0

    line = error(cli("rerun", run_id, "--from", "nowhere"), 2)
    assert line == ("error: Flow 'flows.ops:branchy' has no step 'nowhere' to rerun from. Known steps: "
                    "['measure', 'check', 'long', 'short']")
    line = error(cli("rerun", run_id, "--from", "nowhere", "--detach"), 2)
    assert "has no step 'nowhere'" in line
    line = error(cli("rerun", run_id), 2)
    assert "did not fail at a step" in line and "Name one with --from" in line
    line = error(cli("cancel", run_id), 2)
    assert line == f"error: Run {run_id!r} has already ended (completed): there is nothing to cancel."
    line = error(cli("answer", run_id, "hi"), 2)
    assert line.startswith(f"error: Run {run_id!r} has ended (completed): it waits for no answer.")

    shown = cli("show", run_id)
    assert shown.returncode == 0 and "Completed" in shown.stdout
    rerun = cli("rerun", run_id, "--from", "check")
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.splitlines()[-1] == "long"


def test_replay_of_an_incompatible_run_exits_1_so_a_deploy_after_it_does_not_happen(tmp_path):
    (tmp_path / "exitflows.py").write_text(textwrap.dedent("""
        import os
        from refinire import ConditionStep, Flow, FunctionStep

        LIMIT = int(os.environ.get("EXIT_TEST_LIMIT", "3"))

        branchy = Flow(start="measure", steps={
            "measure": FunctionStep("measure", lambda data, ctx: len(str(data)), next_step="check"),
            "check": ConditionStep("check", lambda ctx: ctx.result > LIMIT, "long", "short"),
            "long": FunctionStep("long", lambda data, ctx: "long"),
            "short": FunctionStep("short", lambda data, ctx: "short"),
        })
    """))
    run_id = rid("exit-replay")
    out = cli("run", "exitflows:branchy", "hello", "--id", run_id, cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.strip() == "long", out.stderr

    same = cli("replay", run_id, cwd=tmp_path)
    assert same.returncode == 0, same.stderr
    assert same.stdout.splitlines()[-1] == "1 of 1 runs replay with the current code"

    gate = subprocess.run(["bash", "-c", f"{REFINIRE_FLOW} replay {run_id} && echo DEPLOYED"],
                          cwd=tmp_path, env=procs.env(EXIT_TEST_LIMIT="100"), capture_output=True,
                          text=True, timeout=120)
    assert gate.returncode == 1, gate.stderr
    assert "DEPLOYED" not in gate.stdout
    assert f"FAIL  {run_id}" in gate.stderr and "at step 'check'" in gate.stderr
    assert gate.stdout.splitlines()[-1] == "0 of 1 runs replay with the current code"

    line = error(cli("replay", "--flow", "exitflows:nothing", cwd=tmp_path), 2)
    assert line.startswith("error: No runs of flow 'exitflows:nothing' to replay")
    line = error(cli("replay", cwd=tmp_path), 2)
    assert "Name runs to replay" in line


def test_worker_and_codec_server_usage_errors_exit_2():
    line = error(cli("worker", "flows.nowhere"), 2)
    assert line.startswith("error: Cannot import module 'flows.nowhere'")
    env = {k: "" for k in ("REFINIRE_FLOW_MODULES", "REFINIRE_PAYLOAD_KEY")}
    line = error(cli("worker", **env), 2)
    assert "No modules to serve" in line
    line = error(cli("codec-server", **env), 2)
    assert line.startswith("error: REFINIRE_PAYLOAD_KEY is not set")


def test_server_on_a_busy_port_says_what_is_there_and_exits_2(temporal_server, tmp_path):
    data = {"REFINIRE_DATA_DIR": str(tmp_path / "data")}
    port = temporal_server["port"]
    out = cli("server", "--port", str(port), "--ui-port", str(embedded.free_port()), **data)
    line = error(out, 2)
    assert line == (f"error: A Temporal server is already listening on 127.0.0.1:{port}: reuse it (point "
                    f"clients at it with TEMPORAL_ADDRESS=127.0.0.1:{port}), or start another one with "
                    "--port N --ui-port M.")
    assert out.stdout == ""  # no success line before the failure

    import socket

    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        taken = other.getsockname()[1]
        line = error(cli("server", "--port", str(taken), "--ui-port", str(embedded.free_port()), **data), 2)
        assert line.startswith(f"error: Port {taken} on 127.0.0.1 is taken by another program, not a "
                               "Temporal server: start the server on a free port with --port N")
        line = error(cli("server", "--port", str(embedded.free_port()), "--ui-port", str(taken), **data), 2)
        assert line == (f"error: Port {taken} for the Web UI is taken by another program: pick a free one "
                        "with --ui-port N.")
    assert not (tmp_path / "data" / "temporal.db").exists()


# A user's script -----------------------------------------------------------------------------
SCRIPT_HEAD = """
import asyncio, sys
from refinire import Flow, FunctionStep, NonRetryableError

def double(data, ctx):
    if data == "boom":
        raise NonRetryableError("boom is not a number")
    return data * 2

flow = Flow(steps=[FunctionStep("double", double)], name="exit-script")
"""

SCRIPTS = {
    "sys.exit(asyncio.run(main())) returning 3": (3, """
        async def main():
            assert (await flow.run(21)) == 42
            return 3

        sys.exit(asyncio.run(main()))
    """),
    "raise SystemExit(3) after the run": (3, """
        asyncio.run(flow.run(21))
        raise SystemExit(3)
    """),
    "sys.exit(4) inside main after the run": (4, """
        async def main():
            await flow.run(21)
            sys.exit(4)

        asyncio.run(main())
    """),
    "sys.exit caught, then the script ends": (0, """
        async def main():
            await flow.run(21)
            try:
                sys.exit(5)
            except SystemExit:
                pass

        asyncio.run(main())
        print("END")
    """),
    "the script's end": (0, """
        print("RESULT", asyncio.run(flow.run(21)))
    """),
    "a failed run nobody catches": (1, """
        asyncio.run(flow.run("boom"))
    """),
    "sys.exit with a message": (1, """
        asyncio.run(flow.run(21))
        sys.exit("giving up: the report is empty")
    """),
}


@pytest.mark.parametrize("name", list(SCRIPTS))
def test_a_script_that_used_flow_run_exits_with_its_own_status(name, tmp_path):
    code, body = SCRIPTS[name]
    script = tmp_path / "job.py"
    script.write_text(SCRIPT_HEAD + textwrap.dedent(body))
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=procs.env(), capture_output=True,
                         text=True, timeout=120, preexec_fn=_default_sigint)
    assert out.returncode == code, (out.stdout, out.stderr)
    if name == "the script's end":
        assert out.stdout.strip() == "RESULT 42"
    elif name == "a failed run nobody catches":
        line = last_line(out)
        assert line.startswith("refinire.errors.FlowExecutionError: ") and "'double'" in line
        assert "boom is not a number" in line
    elif name == "sys.exit with a message":
        assert out.stderr.strip() == "giving up: the report is empty"  # printed once, by Python
    elif name == "sys.exit caught, then the script ends":
        assert out.stdout.strip() == "END"
    else:
        assert out.stderr.strip() == ""


ENDINGS = {
    "a file left open keeps what was written": """
        out = open("left-open.txt", "w")
        asyncio.run(flow.run(21))
        out.write("written after the run")
    """,
    "an atexit handler registered after the run runs once": """
        import atexit
        asyncio.run(flow.run(21))
        atexit.register(lambda: open("handler.txt", "a").write("ran "))
    """,
    "stdout that cannot be written is Python's failure": """
        asyncio.run(flow.run(21))
        print("x" * 100)
    """,
}


@pytest.mark.parametrize("name", list(ENDINGS))
def test_a_script_that_used_flow_run_ends_as_python_ends_it(name, tmp_path):
    """Files closed, handlers run once, a failed final flush 120 with Python's own message: the
    SDK's crash is avoided by waiting for its threads, not by skipping the teardown."""
    script = tmp_path / "job.py"
    script.write_text(SCRIPT_HEAD + textwrap.dedent(ENDINGS[name]))
    env = procs.env()
    env.pop("PYTHONUNBUFFERED")  # buffered, as a user's shell has it
    with open("/dev/full" if "stdout" in name else os.devnull, "w") as stdout:
        out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, stdout=stdout,
                             stderr=subprocess.PIPE, text=True, timeout=120, preexec_fn=_default_sigint)
    if "file" in name:
        assert (out.returncode, (tmp_path / "left-open.txt").read_text()) == (0, "written after the run")
    elif "atexit" in name:
        assert (out.returncode, (tmp_path / "handler.txt").read_text()) == (0, "ran ")
    else:
        assert out.returncode == 120 and "No space left on device" in out.stderr


def test_a_runner_that_runs_a_script_with_runpy_exits_with_its_own_status(tmp_path):
    (tmp_path / "job.py").write_text(SCRIPT_HEAD + "asyncio.run(flow.run(21))\n")
    (tmp_path / "runner.py").write_text("import runpy, sys\nrunpy.run_path('job.py', run_name='__main__')\n"
                                        "sys.exit(4)\n")
    out = subprocess.run([sys.executable, "runner.py"], cwd=tmp_path, env=procs.env(), capture_output=True,
                         text=True, timeout=120, preexec_fn=_default_sigint)
    assert (out.returncode, out.stderr) == (4, "")


def test_scripts_whose_status_only_cpython_knows_exit_with_it_under_load(tmp_path):
    """``raise SystemExit(3)``, a ``sys.exit`` looked up before Temporal was used and ``python -c``
    leave the status to CPython's teardown, which the SDK's threads could abort (-6/-11, about 1
    exit in 30 on a loaded machine, sdk-python issue 300). Nine at once on two cores make that
    race likely."""
    cases = ["raise SystemExit(3) after the run", "sys.exit(asyncio.run(main())) returning 3", "python -c"] * 3
    started = []
    for i, name in enumerate(cases):
        head = SCRIPT_HEAD.replace('"exit-script"', f'"exit-script-{i}"')  # no worker takes another's step
        if name == "python -c":
            args = ["-c", head + "asyncio.run(flow.run(21))\n"]
        else:
            script = tmp_path / f"job{i}.py"
            script.write_text(head + textwrap.dedent(SCRIPTS[name][1]))
            args = [str(script)]
        started.append(subprocess.Popen([sys.executable, *args], cwd=tmp_path, env=procs.env(),
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        preexec_fn=_default_sigint))
    results = [(name, p.communicate(timeout=180)[1], p.returncode) for name, p in zip(cases, started)]
    assert results == [(name, "", 0 if name == "python -c" else 3) for name in cases]


# Ctrl-C ----------------------------------------------------------------------------------------
async def _until_waiting(client, run_id: str, proc: subprocess.Popen, deadline_s: float = 60) -> None:
    """Until the run asks its question (it then waits in Temporal, holding no step)."""
    run = RunHandle(client.get_workflow_handle(run_id), None, client)  # type: ignore[arg-type]
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        assert proc.poll() is None, f"the process ended early with {proc.returncode}"
        try:
            if await run.pending_question() is not None:
                return
        except Exception:
            pass  # not started yet
        await asyncio.sleep(0.1)
    raise AssertionError(f"run {run_id} did not start waiting within {deadline_s}s")


def _interrupt(proc: subprocess.Popen, deadline_s: float = 30) -> tuple[int, str]:
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=deadline_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"still running {deadline_s}s after Ctrl-C") from None
    return proc.returncode, err


async def test_ctrl_c_during_flow_run_in_a_script_ends_it_by_sigint_130_in_a_shell(client, tmp_path):
    run_id = rid("exit-ctrl-c")
    script = tmp_path / "wait.py"
    script.write_text(textwrap.dedent("""
        import asyncio, sys
        from flows.ops import asking

        asyncio.run(asking.run(None, run_id=sys.argv[1]))
        print("not reached")
    """))
    proc = subprocess.Popen([sys.executable, str(script), run_id], cwd=tmp_path, env=procs.env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_sigint)
    try:
        await _until_waiting(client, run_id, proc)
        code, err = _interrupt(proc)
        assert code == -signal.SIGINT, err  # Python's own ending: SIGINT, which a shell shows as 130
        assert err.strip().splitlines()[-1] == "KeyboardInterrupt"
    finally:
        if proc.poll() is None:
            proc.kill()
        with contextlib.suppress(Exception):
            await client.get_workflow_handle(run_id).terminate("test over")


@pytest.mark.parametrize("entry", ["refinire-flow", "python -m client"])
async def test_ctrl_c_during_run_exits_130_and_says_how_to_attach_or_cancel(entry, client):
    run_id = rid("exit-cli-ctrl-c")
    argv = [REFINIRE_FLOW] if entry == "refinire-flow" else [sys.executable, "-m", "client"]
    proc = subprocess.Popen([*argv, "run", "flows.ops:asking", "--id", run_id], cwd=procs.TESTS,
                            env=procs.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_sigint)
    try:
        await _until_waiting(client, run_id, proc)
        code, err = _interrupt(proc)
        assert code == 130, err
        assert "Traceback" not in err
        assert err.strip().splitlines()[-1] == (
            f"interrupted: run {run_id} goes on in Temporal: `refinire-flow run flows.ops:asking --id "
            f"{run_id}` attaches to it, `refinire-flow cancel {run_id}` stops it")
    finally:
        if proc.poll() is None:
            proc.kill()
    cancelled = cli("cancel", run_id)  # the hint, as printed
    assert cancelled.returncode == 0, cancelled.stderr
    assert cancelled.stdout.strip() == f"cancel requested for run {run_id}"


def test_a_reader_that_stops_reading_ends_the_command_quietly_with_141(tmp_path):
    """``refinire-flow show FLOW | head -1``: no BrokenPipeError, 141 as a SIGPIPE'd process (the
    drawing of 3,000 steps is bigger than a pipe holds, so the write after head left must fail)."""
    (tmp_path / "huge.py").write_text(
        "from refinire import Flow, FunctionStep\n\n\ndef f(data, ctx):\n    return data\n\n\n"
        "flow = Flow(steps=[FunctionStep(f'a_step_with_a_rather_long_name_{i:05d}', f) for i in range(3000)])\n")
    proc = subprocess.run(["bash", "-c", f"set -o pipefail; {REFINIRE_FLOW} show huge:flow --format mermaid | head -1"],
                          cwd=tmp_path, env=procs.env(), capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip(), proc.stderr
    assert proc.stderr == "", proc.stderr
    assert proc.returncode == 141
