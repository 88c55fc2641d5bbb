"""The progress a person sees: ``refinire-flow watch``, the progress lines of ``run``, and the plain
(non-TTY) display that keeps a long flow to a few lines. Commands run as subprocesses, as a person
runs them, with their output piped (so plain lines); runs are executed by a worker in this process.
"""

from __future__ import annotations

import asyncio
import os
import pty
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from rich.console import Console

import procs
from client.running.hosting import hosting
from client.running.progress import Attempt, Look, Question
from client.running.progress_view import PlainDisplay, render_look, state_line
from client.running.start import start_or_attach
from flows.ops import asking
from flows.progress import GATES_ENV, gated, unserved

REFINIRE_FLOW = str(Path(sys.executable).parent / "refinire-flow")


def rid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def gates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "gates"
    folder.mkdir()
    monkeypatch.setenv(GATES_ENV, str(folder))
    return folder


def open_gate(gates: Path, step: str) -> None:
    (gates / f"{step}.go").touch()


class Command:
    """A ``refinire-flow`` subprocess whose output lines are read as they come."""

    def __init__(self, *args: str, **env: str) -> None:
        self.proc = subprocess.Popen([REFINIRE_FLOW, *args], cwd=procs.TESTS, env=procs.env(**env),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [threading.Thread(target=self._read, args=(s, into), daemon=True)
                         for s, into in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for t in self._readers:
            t.start()

    @staticmethod
    def _read(stream, into: list[str]) -> None:
        for line in stream:
            into.append(line.rstrip("\n"))

    async def shows(self, pattern: str, *, err: bool = False, deadline_s: float = 60) -> str:
        """The first line matching ``pattern`` (a regex), once the command has printed it."""
        lines = self.err if err else self.out
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            for line in list(lines):
                if re.search(pattern, line):
                    return line
            if self.proc.poll() is not None and not any(t.is_alive() for t in self._readers):
                break
            await asyncio.sleep(0.05)
        raise AssertionError(f"no line matches {pattern!r}; stdout {self.out!r}, stderr {self.err!r}")

    async def ends(self, deadline_s: float = 60) -> int:
        end = time.monotonic() + deadline_s
        while self.proc.poll() is None:
            assert time.monotonic() < end, f"still running; stdout {self.out!r}, stderr {self.err!r}"
            await asyncio.sleep(0.05)
        for t in self._readers:
            t.join(10)
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([REFINIRE_FLOW, *args], cwd=procs.TESTS, env=procs.env(**env),
                          capture_output=True, text=True, timeout=180)


# watch -----------------------------------------------------------------------------------------
async def test_watch_follows_a_running_flow_step_by_step_and_exits_0(client, gates):
    run_id = rid("watch-gated")
    async with hosting(client, gated):
        await start_or_attach(client, gated.durable_name, gated, "x", None, run_id)
        watch = Command("watch", run_id)
        try:
            assert await watch.shows(r"^run ") == f"run {run_id} · flow {gated.durable_name}"
            await watch.shows(r"^\s+\d+\.\ds  step 'one' \(function\) · 0 steps done$")
            open_gate(gates, "one")
            await watch.shows(r"^\s+\d+\.\ds  step 'two' \(function\) · 1 step done$")
            open_gate(gates, "two")
            await watch.shows(r"^\s+\d+\.\ds  step 'three' \(function\) · 2 steps done$")
            open_gate(gates, "three")
            assert await watch.ends() == 0, watch.err
        finally:
            watch.kill()
    assert re.fullmatch(rf"run {run_id} completed in \d+\.\ds after 3 steps: `refinire-flow show {run_id}` "
                        r"shows its result and history", watch.out[-1]), watch.out
    for step in ("one", "two", "three"):  # a line per step, not a line per look
        assert sum(f"step '{step}'" in line for line in watch.out) == 1, watch.out
    assert watch.err == []


async def test_watch_of_a_failed_run_exits_1_naming_the_step_and_the_cause(client):
    run_id = rid("watch-failed")
    ran = cli("run", "flows.progress:failing", "input", "--id", run_id)
    assert ran.returncode == 1, ran.stderr
    watch = cli("watch", run_id)
    assert watch.returncode == 1, watch.stderr
    err = watch.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")
    assert "'broken'" in err[0] and "ValueError: broken cannot take 'input'" in err[0]
    assert f"`refinire-flow show {run_id}`" in err[0]
    assert "Traceback" not in watch.stderr


async def test_watch_shows_the_question_a_run_waits_on_and_how_to_answer_it(client):
    run_id = rid("watch-asking")
    async with hosting(client, asking):
        await start_or_attach(client, asking.durable_name, asking, None, None, run_id)
        watch = Command("watch", run_id)
        try:
            line = await watch.shows("waiting at step")
            assert line.endswith(f"waiting at step 'ask' for an answer: Your name? · answer with "
                                 f"`refinire-flow answer {run_id} TEXT`")
            # Off the event loop: this process's worker must take the answer meanwhile.
            answered = await asyncio.to_thread(cli, "answer", run_id, "Ada")  # as the line says
            assert answered.returncode == 0, answered.stderr
            assert await watch.ends() == 0, watch.err
        finally:
            watch.kill()
    assert watch.out[-1].startswith(f"run {run_id} completed in ")
    assert watch.out[-1].endswith(" after 2 steps: "
                                  f"`refinire-flow show {run_id}` shows its result and history")


def test_watch_of_an_unknown_run_exits_2_and_says_how_to_find_runs():
    run_id = rid("no-such-run")
    out = cli("watch", run_id)
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr.strip() == (
        f"error: No run {run_id!r} in namespace 'default': check the id (`refinire-flow runs` lists "
        "recent runs) and TEMPORAL_ADDRESS/TEMPORAL_NAMESPACE.")


def test_watch_without_temporal_exits_3(tmp_path):
    out = cli("watch", "any-run", TEMPORAL_ADDRESS="127.0.0.1:1")
    assert out.returncode == 3, out.stderr
    assert out.stderr.startswith("error: ")


# run -------------------------------------------------------------------------------------------
async def test_run_shows_progress_on_stderr_and_the_result_on_stdout(gates):
    run_id = rid("run-progress")
    run = Command("run", "flows.progress:gated", "x", "--id", run_id, **{GATES_ENV: str(gates)})
    try:
        assert await run.shows(r"^run ", err=True) == f"run {run_id} · flow flows.progress:gated"
        await run.shows(r"step 'one' \(function\) · 0 steps done$", err=True)
        open_gate(gates, "one")
        await run.shows(r"step 'two' \(function\) · 1 step done$", err=True)
        open_gate(gates, "two")
        open_gate(gates, "three")
        assert await run.ends() == 0, run.err
    finally:
        run.kill()
    assert run.out == ["x>one>two>three"]
    assert run.err[-1] == f"run {run_id} completed"


async def test_run_shows_the_attempts_and_last_failure_of_a_step_that_retries(gates):
    run = Command("run", "flows.progress:retrying", "x", **{GATES_ENV: str(gates)})
    try:
        line = await run.shows(r"· 'flaky' attempt [2-9]", err=True)  # not the worker's log line
        assert re.search(r"step 'flaky' \(function\) · 0 steps done · 'flaky' attempt \d+ of 100"
                         r"( \(waiting to retry\))?, last failure: ValueError: flaky is not ready yet$", line)
        open_gate(gates, "flaky")
        assert await run.ends() == 0, run.err
    finally:
        run.kill()
    assert run.out == ["x>flaky"]


async def test_a_long_loop_prints_progress_not_a_line_per_step():
    run_id = rid("run-long")
    started = time.monotonic()
    out = cli("run", "flows.long:long_loop", "300", "--id", run_id)
    took = time.monotonic() - started
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "done 300 of 300 with 4000 bytes"
    progress = [line for line in out.stderr.splitlines() if re.match(r"^\s+\d", line)]
    assert progress and all("step '" in line for line in progress), out.stderr
    # 602 steps; at most one line per 2 s of the run, and one for its first look.
    assert len(progress) <= took / 2.0 + 1, out.stderr
    counts = [int(m.group(1)) for line in progress if (m := re.search(r"· (\d+) steps? done", line))]
    assert counts == sorted(counts) and counts[-1] <= 602
    watch = cli("watch", run_id)  # the whole chain of continue-as-new runs counts
    assert watch.returncode == 0, watch.stderr
    assert " after 602 steps: " in watch.stdout.strip().splitlines()[-1]


def test_progress_can_be_turned_off_for_run():
    out = cli("run", "flows.ops:branchy", "hello", REFINIRE_PROGRESS="0")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "long"
    assert [line for line in out.stderr.splitlines() if not line.startswith("run ")] == []
    assert len(out.stderr.strip().splitlines()) == 1  # "run ... completed" only


# The plain display, fed looks ------------------------------------------------------------------
def _look(**kw) -> Look:
    base = dict(run_id="r-1", flow="f", status="running",
                started=datetime.now(timezone.utc) - timedelta(seconds=3), step="work", kind="function",
                done=0)
    return Look(**{**base, **kw})


def test_plain_display_prints_progress_at_most_once_per_interval_and_a_question_at_once():
    import io

    stream = io.StringIO()
    display = PlainDisplay(stream, every_s=3600)
    failing = Attempt("work", 2, 3, "ValueError: no", retrying=True)
    for n in range(5000):
        display.update(_look(done=n, attempts=(failing,) if n % 2 else ()))
    assert len(stream.getvalue().splitlines()) == 2  # the run, the first look
    display.update(_look(done=5000, question=Question("ask", "Your name?")))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    assert lines[2].endswith("waiting at step 'ask' for an answer: Your name? · answer with "
                             "`refinire-flow answer r-1 TEXT`")
    display.update(_look(status="completed"))
    assert len(stream.getvalue().splitlines()) == 3  # the command says how it ended


def test_plain_display_shows_a_retry_once_the_interval_has_passed():
    import io

    stream = io.StringIO()
    display = PlainDisplay(stream, every_s=0)
    display.update(_look(done=7))
    failing = Attempt("work", 2, 3, "ValueError: no", retrying=True)
    display.update(_look(done=7, attempts=(failing,)))
    display.update(_look(done=7, attempts=(failing,)))  # nothing new: no line
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    assert lines[2].endswith("step 'work' (function) · 7 steps done · 'work' attempt 2 of 3 "
                             "(waiting to retry), last failure: ValueError: no")


def test_state_line_names_running_branches_and_a_missing_worker():
    look = _look(step="block", kind="parallel", worker="none", queue="refinire.f",
                 attempts=(Attempt("block/a", 1, 3, None, False), Attempt("block/b", 1, 3, None, False)))
    assert state_line(look) == (
        "step 'block' (parallel) · 0 steps done · 2 branches running · no worker runs flow 'f' "
        "(task queue 'refinire.f'): the run waits until one does (`refinire-flow worker MODULE`, or "
        "the script that started it)")


def test_state_line_says_when_a_worker_polled_but_does_not_answer():
    look = _look(step="work", done=None, worker="silent")
    assert state_line(look) == (
        "step 'work' (function) · the worker of flow 'f' does not answer (busy, or stopped in the last "
        "minutes): steps done and questions are unknown until it does")


def test_the_live_display_shows_the_step_attempts_and_question():
    console = Console(record=True, width=120, color_system=None)
    look = _look(done=12, attempts=(Attempt("work", 3, 5, "ValueError: not yet", False),),
                 question=Question("ask", "Which one?"))
    console.print(render_look(look))
    text = console.export_text()
    assert "run r-1 · flow f" in text
    assert "work (function) · 12 steps done · 3." in text
    assert "work: attempt 3 of 5 · last failure: ValueError: not yet" in text
    assert "ask asks: Which one?" in text and "answer with `refinire-flow answer r-1 TEXT`" in text


async def test_ctrl_c_ends_watch_with_130_and_leaves_the_run_running(client):
    run_id = rid("watch-ctrl-c")
    # No worker serves this run: watch says so, and the run waits.
    await start_or_attach(client, unserved.durable_name, unserved, None, None, run_id)
    watch = Command("watch", run_id)
    try:
        line = await watch.shows("no worker runs flow")
        assert line.endswith("no worker runs flow 'flows.progress:unserved' (task queue "
                             "'refinire.flows.progress:unserved'): the run waits until one does "
                             "(`refinire-flow worker MODULE`, or the script that started it)")
        watch.proc.send_signal(signal.SIGINT)
        assert await watch.ends() == 130
        assert watch.err[-1] == (f"interrupted: run {run_id} goes on in Temporal: `refinire-flow watch "
                                 f"{run_id}` follows it again, `refinire-flow cancel {run_id}` stops it")
        assert "Traceback" not in "\n".join(watch.err)
        desc = await client.get_workflow_handle(run_id).describe()
        assert desc.status.name == "RUNNING"
    finally:
        watch.kill()
        await client.get_workflow_handle(run_id).terminate("test over")


async def test_rerun_shows_the_new_runs_progress(client, gates, tmp_path):
    first = rid("rerun-source")
    for step in ("one", "two", "three"):
        open_gate(gates, step)
    ran = await asyncio.to_thread(cli, "run", "flows.progress:gated", "x", "--id", first,
                                  **{GATES_ENV: str(gates)})
    assert ran.returncode == 0, ran.stderr
    closed = tmp_path / "closed"
    closed.mkdir()
    rerun = Command("rerun", first, "--from", "two", "--id", f"{first}-again", **{GATES_ENV: str(closed)})
    try:
        await rerun.shows(rf"^run {first}-again · flow flows.progress:gated$", err=True)
        await rerun.shows(r"step 'two' \(function\) · 0 steps done$", err=True)
        open_gate(closed, "two")
        await rerun.shows(r"step 'three' \(function\) · 1 step done$", err=True)
        open_gate(closed, "three")
        assert await rerun.ends() == 0, rerun.err
    finally:
        rerun.kill()
    assert rerun.out == [f"{first}-again", "x>one>two>three"]


def test_runs_and_show_are_coloured_when_forced_and_plain_with_no_color():
    run_id = rid("colour")
    assert cli("run", "flows.ops:branchy", "hi", "--id", run_id).returncode == 0
    plain = cli("show", run_id)
    coloured = cli("show", run_id, FORCE_COLOR="1")
    assert plain.returncode == coloured.returncode == 0
    assert "\x1b[" not in plain.stdout
    assert "\x1b[" in coloured.stdout
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured.stdout) == plain.stdout  # the same text, styled
    assert cli("show", run_id, FORCE_COLOR="1", NO_COLOR="1").stdout == plain.stdout
    table = cli("runs", "--flow", "flows.ops:branchy", "--limit", "1", FORCE_COLOR="1")
    assert table.returncode == 0 and "\x1b[" in table.stdout
    assert run_id in table.stdout
    bare = cli("runs", "--flow", "flows.ops:branchy", "--limit", "1", FORCE_COLOR="1", NO_COLOR="1")
    assert "\x1b[" not in bare.stdout and bare.stdout.splitlines()[0].startswith("RUN ID")


async def test_a_scripts_flow_run_shows_a_live_status_on_a_terminal(gates, tmp_path):
    script = tmp_path / "job.py"
    script.write_text("import asyncio\nfrom flows.progress import gated\n"
                      "print('RESULT', asyncio.run(gated.run('x')))\n")
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, stdin=subprocess.DEVNULL,
                            stdout=slave, stderr=slave, env=procs.env(**{GATES_ENV: str(gates)}))
    os.close(slave)
    seen = bytearray()

    def read() -> None:
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                return
            if not chunk:
                return
            seen.extend(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        end = time.monotonic() + 60
        while b"one" not in seen or b"0 steps done" not in seen:  # after SCRIPT_DELAY_S
            assert proc.poll() is None and time.monotonic() < end, bytes(seen)
            await asyncio.sleep(0.05)
        for step in ("one", "two", "three"):
            open_gate(gates, step)
        while proc.poll() is None:
            assert time.monotonic() < end, bytes(seen)
            await asyncio.sleep(0.05)
    finally:
        if proc.poll() is None:
            proc.kill()
        reader.join(10)
        os.close(master)
    assert proc.returncode == 0
    text = bytes(seen).decode(errors="replace")
    assert "RESULT x>one>two>three" in text
    assert f"flow {gated.durable_name}" in text


def test_core_warnings_caused_by_progress_queries_are_debug_records():
    import logging

    from client.connection.core_logs import CORE_LOGGER, _Demote

    demote = _Demote()

    def record(message: str) -> logging.LogRecord:
        return logging.LogRecord(CORE_LOGGER, logging.WARNING, __file__, 1, message, (), None)

    late = record("[sdk_core] Query not found when attempting to respond to it")
    assert demote.filter(late) is False and late.levelno == logging.DEBUG
    other = record("[sdk_core] Workflow task duration exceeded 5 seconds")
    assert demote.filter(other) is True and other.levelno == logging.WARNING


async def test_watch_of_a_run_no_worker_serves_says_so_at_once(client):
    """No worker polls the flow's queue: the look asks no query (one would wait for a worker)."""
    from refinire import Flow, FunctionStep

    flow = Flow(steps=[FunctionStep("only", lambda data, ctx: data)], name=rid("nobody-serves"))
    run_id = rid("watch-no-worker")
    handle = await start_or_attach(client, flow.durable_name, flow, "x", None, run_id)
    watch = Command("watch", run_id)
    try:
        assert await watch.shows(r"^run ", deadline_s=10) == f"run {run_id} · flow {flow.durable_name}"
        line = await watch.shows("no worker runs flow", deadline_s=10)
        assert line.endswith(f"no worker runs flow {flow.durable_name!r} (task queue 'refinire.{flow.durable_name}'): "
                             "the run waits until one does (`refinire-flow worker MODULE`, or the script that "
                             "started it)"), line
    finally:
        watch.kill()
        await handle.terminate("test over")
