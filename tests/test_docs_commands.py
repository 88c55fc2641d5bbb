"""Every ``refinire-flow`` command shown in README.md and docs/*.md, run as a real process against the
session's dev server, exits as documented.

The commands are read from the documents themselves: each line of a fenced block and each inline
code span that runs ``refinire-flow``. Each one must have an entry in ``CASES`` below, saying what its
placeholders (``RUN_ID``, ``STEP``, ``NAME``, ``…``) stand for and what a reader should see; a command
added to the docs without one, or an entry whose command left the docs, fails the test.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

import procs
from client.connection import embedded
from client.operations.cli import exit_codes_help
from client.running.handle import RunHandle

REFINIRE_FLOW = str(Path(sys.executable).parent / "refinire-flow")
DOCS = [procs.ROOT / "README.md", *sorted((procs.ROOT / "docs").glob("*.md"))]


def documented_commands() -> dict[str, list[str]]:
    """Command text -> where it is shown (``file:line``)."""
    found: dict[str, list[str]] = {}

    def add(text: str, where: str) -> None:
        found.setdefault(" ".join(text.split()), []).append(where)

    for path in DOCS:
        prose, in_fence = [], False
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            if line.lstrip().startswith("```"):
                in_fence = not in_fence
                prose.append("")
            elif in_fence:
                if re.search(r"(^|\s)refinire-flow(\s|$)", line):
                    add(re.split(r"\s{2,}#", line)[0], f"{path.name}:{lineno}")
                prose.append("")
            else:
                prose.append(line)
        text = "\n".join(prose)
        for m in re.finditer(r"`([^`]+)`", text):
            if re.search(r"(^|\s)refinire-flow(\s|$)", m.group(1)):
                add(m.group(1), f"{path.name}:{text.count(chr(10), 0, m.start()) + 1}")
    return found


# What the commands need ------------------------------------------------------------------------
def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait(predicate: Callable[[], bool], what: str, deadline_s: float = 60) -> None:
    end = time.monotonic() + deadline_s
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {deadline_s}s waiting for {what}")
        time.sleep(0.05)


class Docs:
    """Runs the documents' commands need: made on first use, once per module."""

    def __init__(self, tmp: Path, address: str) -> None:
        self.tmp, self.address = tmp, address
        self.env = {"REFINIRE_TEST_LOG": str(tmp / "steps.log")}
        self._cache: dict[str, str] = {}

    def cli(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run([REFINIRE_FLOW, *args], cwd=procs.TESTS, env=procs.env(**self.env, **env),
                              capture_output=True, text=True, timeout=120, preexec_fn=_default_sigint)

    def _once(self, key: str, make: Callable[[], str]) -> str:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def completed_run(self) -> str:
        """A completed run of the guide's condition flow (`set_age → age_check → adult`)."""
        def make() -> str:
            run_id = f"docs-done-{uuid.uuid4().hex[:8]}"
            out = self.cli("run", "examples.guide_basics:condition_flow", "25", "--id", run_id)
            assert out.returncode == 0, out.stderr
            return run_id
        return self._once("completed", make)

    def fixed_failed_run(self) -> str:
        """A run that failed at a step which has been fixed since (`rerun RUN_ID`)."""
        def make() -> str:
            run_id = f"docs-failed-{uuid.uuid4().hex[:8]}"
            out = self.cli("run", "flows.ops:pipeline", "x", "--id", run_id)
            assert out.returncode == 1, out.stderr
            Path(self.env["REFINIRE_TEST_LOG"] + ".fixed").touch()
            return run_id
        return self._once("failed", make)

    async def waiting_run(self, client) -> str:
        """A fresh run waiting for an answer (a UserInputStep), served by the module's worker."""
        run_id = f"docs-ask-{uuid.uuid4().hex[:8]}"
        out = self.cli("run", "flows.ops:asking", "--detach", "--id", run_id)
        assert out.returncode == 0, out.stderr
        run = RunHandle(client.get_workflow_handle(run_id), None, client)  # type: ignore[arg-type]
        end = time.monotonic() + 60
        while await run.pending_question() is None:
            assert time.monotonic() < end, f"run {run_id} never waited for an answer"
            await asyncio.sleep(0.1)
        return run_id


@pytest.fixture(scope="module")
def docs(temporal_server, tmp_path_factory):
    """The module's worker serves the guide's flows and the CLI test flows (for --detach, answer)."""
    d = Docs(tmp_path_factory.mktemp("docs"), temporal_server["address"])
    log = d.tmp / "worker.log"
    worker = subprocess.Popen([REFINIRE_FLOW, "worker", "examples.guide_basics", "flows.ops"],
                              cwd=procs.TESTS, env=procs.env(**d.env), stdout=open(log, "ab"),
                              stderr=subprocess.STDOUT, preexec_fn=_default_sigint)
    try:
        _wait(lambda: "serving 'flows.ops:asking'" in log.read_text(), "the worker to serve")
        yield d
    finally:
        procs.stop(worker)


# How to run each documented command -----------------------------------------------------------
@dataclass
class Case:
    """``subs``: text replacements in the documented command (placeholders, ports, addresses).
    ``serve``: a command that serves until stopped: ``ready`` says it serves, then SIGINT stops it."""

    expect: int = 0
    subs: Callable[[Docs, Any], Any] = lambda d, client: {}
    check: Callable[[subprocess.CompletedProcess, Any, dict[str, str]], Any] | None = None
    env: dict[str, str] = field(default_factory=dict)
    serve: bool = False
    ready: Callable[[str, dict[str, str]], bool] | None = None
    mention: bool = False
    """A command named in prose without its arguments: it must exist (``--help`` exits 0)."""
    shell: str | None = None
    """Run with bash after these definitions (a ``... && deploy`` line)."""
    alternatives: bool = False
    """A synopsis (``[--format text|mermaid]``): run it once per alternative."""


def _stdout_is(expected: str):
    def check(out, d, subs):
        assert out.stdout.strip().splitlines()[-1] == expected.format(**subs), out.stdout
    return check


async def _result(client, run_id: str) -> Any:
    from workflows.io import FlowResult

    handle = client.get_workflow_handle(run_id, result_type=FlowResult)
    return (await asyncio.wait_for(handle.result(), 60)).output


async def _answered(out, client, subs):
    run_id = subs["RUN_ID"]
    assert out.stdout.strip() == f"answered step 'ask' of run {run_id}"
    assert await _result(client, run_id) == "hello Python, please"


async def _detached(out, client, subs):
    run_id = out.stdout.strip()
    assert run_id.startswith("examples.guide_basics:condition_flow-"), out.stdout
    assert await _result(client, run_id) == "You can access adult services"  # the module's worker ran it


def _all_replay(out, client, subs):
    last = out.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"(\d+) of \1 runs replay with the current code", last), out.stdout
    assert not last.startswith("0 of"), out.stdout


def _runs_table(out, d, subs):
    first = out.stdout.splitlines()[0]
    assert first.startswith("RUN ID") or first == "no runs", out.stdout


def _watched(out, d, subs):
    run_id = subs["RUN_ID"]
    assert re.fullmatch(rf"run {run_id} completed in \d+\.\ds after 3 steps: `refinire-flow show {run_id}` "
                        r"shows its result and history", out.stdout.strip().splitlines()[-1]), out.stdout


def _mermaid(out, d, subs):
    assert out.stdout.startswith("graph TD") and subs["RUN_ID"] in out.stdout


def _metrics(text: str, subs: dict[str, str]) -> bool:
    if "serving 'examples.guide_basics:condition_flow'" not in text:
        return False
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{subs['9464']}/metrics", timeout=10) as resp:
            return resp.status == 200 and b"temporal_" in resp.read()
    except OSError:
        return False


def _free(*names: str) -> Callable[[Docs, Any], dict[str, str]]:
    return lambda d, client: {name: str(embedded.free_port()) for name in names}


KEY = base64.b64encode(os.urandom(32)).decode()
MODULES = {"...": "examples.guide_basics"}
SERVING = lambda text, subs: "serving 'examples.guide_basics:condition_flow'" in text  # noqa: E731
ADULT = "You can access adult services"

try:
    import opentelemetry  # noqa: F401
    OTEL = True
except ImportError:
    OTEL = False


def _otel_missing(out, d, subs):
    assert out.stderr.strip().splitlines()[-1].startswith(
        "error: OpenTelemetry tracing is enabled but not installed: pip install 'refinire-flow[otel]'")


async def _waiting(d: Docs, client) -> dict[str, str]:
    return {"RUN_ID": await d.waiting_run(client)}


async def _waiting_text(d: Docs, client) -> dict[str, str]:
    return {**await _waiting(d, client), "TEXT": "'Python, please'"}


CASES: dict[str, Case] = {
    "refinire-flow": Case(mention=True),
    "refinire-flow show": Case(mention=True),
    "refinire-flow replay": Case(mention=True),
    "refinire-flow answer": Case(mention=True),
    # The server and the codec server are started on free ports: this machine's 7233 and 8888 may
    # be someone else's.
    "refinire-flow server": Case(serve=True, subs=_free("PORT", "UI_PORT"),
                                 ready=lambda text, subs: embedded.listening(int(subs["PORT"]))),
    "refinire-flow codec-server": Case(serve=True, env={"REFINIRE_PAYLOAD_KEY": KEY}, subs=_free("PORT"),
                                       ready=lambda text, subs: "codec server on" in text),
    "REFINIRE_PAYLOAD_KEY=… refinire-flow codec-server --port 8888": Case(
        serve=True, subs=lambda d, client: {"…": KEY, "8888": str(embedded.free_port())},
        ready=lambda text, subs: f"codec server on http://127.0.0.1:{subs['8888']}" in text),
    "refinire-flow worker examples.guide_basics": Case(serve=True, ready=SERVING),
    "refinire-flow worker --console-tracing": Case(serve=True, ready=SERVING,
                                                  env={"REFINIRE_FLOW_MODULES": "examples.guide_basics"}),
    "refinire-flow worker --metrics-port 9464 ...": Case(
        serve=True, subs=lambda d, client: {**MODULES, "9464": str(embedded.free_port())}, ready=_metrics),
    "refinire-flow worker --otel ...": (
        Case(serve=True, subs=lambda d, client: MODULES, ready=SERVING) if OTEL
        else Case(expect=1, subs=lambda d, client: MODULES, check=_otel_missing)),
    "refinire-flow run examples.guide_basics:condition_flow 25": Case(check=_stdout_is(ADULT)),
    "TEMPORAL_ADDRESS=localhost:7233 refinire-flow run examples.guide_basics:condition_flow 25 --detach":
        Case(subs=lambda d, client: {"localhost:7233": d.address}, check=_detached),
    "TEMPORAL_ADDRESS=localhost:7233 refinire-flow runs": Case(subs=lambda d, client: {"localhost:7233": d.address},
                                                               check=_runs_table),
    "refinire-flow watch RUN_ID": Case(subs=lambda d, client: {"RUN_ID": d.completed_run()}, check=_watched),
    "refinire-flow runs": Case(check=_runs_table),
    "refinire-flow runs --status failed": Case(check=_runs_table),
    "refinire-flow show RUN_ID --format mermaid": Case(subs=lambda d, client: {"RUN_ID": d.completed_run()},
                                                       check=_mermaid),
    "refinire-flow show RUN_ID [--format text|mermaid]": Case(subs=lambda d, client: {"RUN_ID": d.completed_run()},
                                                              alternatives=True),
    "refinire-flow rerun RUN_ID --from STEP": Case(
        subs=lambda d, client: {"RUN_ID": d.completed_run(), "STEP": "age_check"}, check=_stdout_is(ADULT)),
    "refinire-flow rerun RUN_ID": Case(subs=lambda d, client: {"RUN_ID": d.fixed_failed_run()},
                                       check=_stdout_is("x>fetch>enrich>fragile(fetched=True)>publish")),
    "refinire-flow replay --flow NAME": Case(
        subs=lambda d, client: {"NAME": "examples.guide_basics:condition_flow", "_": d.completed_run()},
        check=_all_replay),
    "refinire-flow replay --flow examples.guide_basics:condition_flow --limit 50 && deploy": Case(
        subs=lambda d, client: {"_": d.completed_run()}, shell="deploy() { echo DEPLOYED; }",
        check=_stdout_is("DEPLOYED")),
    'refinire-flow answer RUN_ID "Python, please"': Case(subs=_waiting, check=_answered),
    "refinire-flow answer RUN_ID TEXT": Case(subs=_waiting_text, check=_answered),
    "refinire-flow --help": Case(check=lambda out, d, subs: exit_codes_help() in out.stdout),
    "refinire-flow replay --flow NAME && deploy": Case(
        subs=lambda d, client: {"NAME": "examples.guide_basics:condition_flow", "_": d.completed_run()},
        shell="deploy() { echo DEPLOYED; }", check=_stdout_is("DEPLOYED")),
    "refinire-flow search-attributes": Case(check=lambda out, d, subs: (
        out.stdout.splitlines()[0] == "temporal operator search-attribute create --namespace default "
                                      "--name FlowName --type Keyword")),
}

SHOWN = documented_commands()


def test_every_documented_command_has_a_case_and_every_case_is_documented():
    assert sorted(set(SHOWN) - set(CASES)) == [], (
        "the docs show these commands; add each to CASES with how to run it: "
        + "; ".join(f"{c!r} ({', '.join(SHOWN[c])})" for c in sorted(set(SHOWN) - set(CASES))))
    assert sorted(set(CASES) - set(SHOWN)) == [], "CASES names commands the docs no longer show"


def _substitute(text: str, subs: dict[str, str]) -> str:
    """Placeholders and literal values replaced (``_``-keys only make a run exist; PORT and UI_PORT
    are options added to a server's command)."""
    for old, new in subs.items():
        if not old.startswith("_") and old not in ("PORT", "UI_PORT"):
            text = text.replace(old, new)
    return text


def _argv(text: str, subs: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    words = shlex.split(_substitute(text, subs))
    env = {}
    while "=" in words[0] and not words[0].startswith("-"):
        key, _, value = words.pop(0).partition("=")
        env[key] = value
    assert words[0] == "refinire-flow", text
    return env, [REFINIRE_FLOW, *words[1:]]


def _run_served(case: Case, argv: list[str], env: dict[str, str], docs: Docs, subs: dict[str, str],
                where: str) -> None:
    log = docs.tmp / f"served-{uuid.uuid4().hex[:6]}.log"
    proc = subprocess.Popen(argv, cwd=procs.TESTS, env=procs.env(**docs.env, **env), stdout=open(log, "ab"),
                            stderr=subprocess.STDOUT, preexec_fn=_default_sigint)
    try:
        def ready() -> bool:
            assert proc.poll() is None, f"{where}: exited {proc.returncode}: {log.read_text()[-2000:]}"
            return case.ready(log.read_text(), subs)  # type: ignore[misc]
        _wait(ready, f"{argv[1:]} to serve")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == case.expect, log.read_text()[-2000:]
    finally:
        if proc.poll() is None:
            procs.kill(proc)


@pytest.mark.parametrize("text", sorted(CASES))
async def test_a_documented_command_exits_as_documented(text, docs, client):
    case = CASES[text]
    where = ", ".join(SHOWN.get(text, ["?"]))
    subs = case.subs(docs, client)
    if inspect.isawaitable(subs):
        subs = await subs
    if case.mention:
        out = docs.cli(*shlex.split(text)[1:], "--help")
        assert out.returncode == 0 and out.stdout.startswith("usage: refinire-flow"), (where, out.stderr)
        return
    if case.shell:  # run the line as written, after the definitions it assumes
        line = _substitute(text, subs).replace("refinire-flow", shlex.quote(REFINIRE_FLOW), 1)
        out = subprocess.run(["bash", "-c", f"{case.shell}\n{line}"], cwd=procs.TESTS,
                             env=procs.env(**docs.env), capture_output=True, text=True, timeout=120)
        runs = [out]
    else:
        texts = [text]
        if case.alternatives:  # `[--format text|mermaid]`: each alternative
            alts = re.search(r"\[--format (\S+)\]", text).group(1).split("|")  # type: ignore[union-attr]
            texts = [re.sub(r"\[--format \S+\]", f"--format {alt}", text) for alt in alts]
        runs = []
        for variant in texts:
            env, argv = _argv(variant, subs)
            env = {**case.env, **env}
            if "PORT" in subs:  # a server on free ports, not the documented defaults
                argv += ["--port", subs["PORT"]] + (["--ui-port", subs["UI_PORT"]] if "UI_PORT" in subs else [])
                env.setdefault("REFINIRE_DATA_DIR", str(docs.tmp / "server-data"))
            if case.serve:
                _run_served(case, argv, env, docs, subs, where)
                return
            runs.append(docs.cli(*argv[1:], **env))
    for out in runs:
        assert out.returncode == case.expect, (where, out.stdout, out.stderr)
        if case.check:
            checked = case.check(out, client, subs)
            if inspect.isawaitable(checked):
                await checked
