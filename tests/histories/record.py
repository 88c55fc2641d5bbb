"""Record the replay corpus: ``python tests/histories/record.py VERSION [CASE ...]``.

Starts its own Temporal dev server (free port, temporary SQLite file) and the scripted local
OpenAI-compatible server (tests/openai_server.py), runs each case's flow from tests/flows/corpus.py
with an in-process worker, checks the run did what the case is for, and writes the run's event
history to ``tests/histories/VERSION/<case>.json`` (``WorkflowHistory.to_json()``; the ``sealed``
case keeps its payloads sealed). Workflow ids are ``corpus-<case>``.

It never overwrites a history: if any target file exists it records nothing and exits with 1.
Committed histories are never re-recorded (see tests/histories/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from flows.corpus import CASES, TEST_PAYLOAD_KEY  # noqa: E402


@dataclass
class Case:
    input: Any
    expect: Callable[[Any], bool]
    """Checks the run's RunResult, or the FlowExecutionError of a case that must fail."""
    replies: list[Any] = field(default_factory=list)
    """Scripted model replies, in order."""
    answers: list[str] = field(default_factory=list)
    """Answers to the questions the run waits on, in order."""
    by_name: bool = False
    """Start without a spec (by flow name): the worker's spec is pinned through describe_flow."""
    sealed: bool = False
    fails: bool = False


def _ok(output: Any, **state: Any) -> Callable[[Any], bool]:
    def check(result: Any) -> bool:
        return result.value == output and all(result.shared_state.get(k) == v for k, v in state.items())

    return check


DRIVE: dict[str, Case] = {
    "function": Case("hi", _ok("HI!", seen="hi", length=3)),
    "condition": Case("25", _ok("You can access adult services", age=25)),
    "routes": Case("bug: crash", _ok("fallthrough(bug(bug: crash) via bug)", route_taken="fallthrough")),
    "parallel": Case("x", _ok("alpha=alpha:<x> | beta=beta:<x> | gamma=gamma:<x>",
                              alpha_saw="<x>", beta_saw="<x>", gamma_saw="<x>")),
    "retries": Case("in", _ok("[in] after 3 calls done")),
    "error_handler": Case("payload", _ok("fallback got payload", error_type="ConnectionError")),
    "loop": Case(0, lambda r: r.value == "counted to 3" and r.path.count("work") == 3),
    "agent_eval": Case("autumn", lambda r: r.value == "draft two -- 90.0"
                       and r.evaluation_result["attempts"] == 2,
                       replies=["draft one", {"score": 40, "feedback": "add a season word"},
                                "draft two", {"score": 90, "feedback": "good"}]),
    "router_llm": Case("my invoice is wrong", _ok("biz:my invoice is wrong", router_classification="business"),
                       replies=["business"]),
    "router_rule": Case(7, _ok("biz:7", rules_classification="odd")),
    "clarify_answered": Case(
        "Write a program", lambda r: r.value == "go:Write a program" and r.clarification_result["turns"] == 2,
        replies=[{"score": 30, "clarification_question": "Which language?", "reason": "vague"},
                 {"score": 90, "clarification_question": "", "reason": "ok"}],
        answers=["Python"]),
    "clarify_timeout": Case(
        "Do it", lambda r: r.value == "ask:What exactly?" and r.clarification_result["timed_out"] is True,
        replies=[{"score": 10, "clarification_question": "What exactly?", "reason": "vague"}]),
    "user_input": Case(None, _ok("Hello Ada"), answers=["Ada"]),
    "local": Case("  tiny  ", _ok("short:tiny")),
    "custom": Case("go", lambda r: r.value == "stopped at handled dispatched go"
                   and r.path == ["dispatch", "handle", "stop"]),
    "failed": Case("x", lambda e: (e.step, e.cause_type, e.cause_message) == ("broken", "ValueError",
                                                                              "bad input 'x'"),
                   fails=True),
    "by_name": Case("abcdef", lambda r: r.value == "long <abcdef>", by_name=True),
    "sealed": Case("abc", _ok("sealed abc (noted)", note="secret abc"), sealed=True),
}

assert set(DRIVE) == set(CASES), "every corpus flow needs a way to be driven, and vice versa"


async def record_case(name: str, llm: Any, path: Path) -> None:
    from client.codec import KEY_ENV
    from client.connect import connect
    from client.handle import RunHandle
    from client.runner import start_run
    from refinire.errors import FlowExecutionError
    from worker import build_worker

    case, flow = DRIVE[name], CASES[name]
    run_id = f"corpus-{name}"
    if case.sealed:
        os.environ[KEY_ENV] = TEST_PAYLOAD_KEY
    try:
        client = await connect(fresh=True)
    finally:
        os.environ.pop(KEY_ENV, None)
    llm.reset()
    llm.script(*case.replies)
    async with build_worker(client, flow):
        raw = await start_run(client, flow.register(), None if case.by_name else flow, case.input, None, run_id)
        handle = RunHandle(raw, flow, client)
        for text in case.answers:
            await handle.wait_for_question(timeout=30)
            await handle.answer(text)
        try:
            outcome: Any = await handle.result()
        except FlowExecutionError as err:
            if not case.fails:
                raise
            outcome = err
        else:
            if case.fails:
                raise AssertionError(f"case {name!r} was meant to fail but returned {outcome.value!r}")
    if not case.expect(outcome):
        detail = outcome if case.fails else (outcome.value, outcome.shared_state, outcome.path)
        raise AssertionError(f"case {name!r} did not do what it is for: {detail!r}")
    if len(llm.queue):
        raise AssertionError(f"case {name!r} left {len(llm.queue)} scripted model replies unused")
    history = await client.get_workflow_handle(run_id).fetch_history()
    text = history.to_json()
    if case.sealed and "YmluYXJ5L2VuY3J5cHRlZA==" not in text:  # base64 of b"binary/encrypted"
        raise AssertionError("the sealed case's history holds unsealed payloads")
    with path.open("x") as f:  # "x": never overwrite, even if a file appeared meanwhile
        f.write(text)


async def record(version: str, names: list[str]) -> int:
    from client import embedded
    from openai_server import OpenAIServer

    out = HERE / version
    with tempfile.TemporaryDirectory(prefix="refinire-corpus-") as tmp:
        root = Path(tmp)
        port = embedded.free_port()
        log = root / "server.log"
        proc = embedded.start_server(root / "temporal.db", port, None, detached=False, log_file=log)
        llm = OpenAIServer()
        llm.thread.start()
        os.environ.update({
            "TEMPORAL_ADDRESS": f"127.0.0.1:{port}", "TEMPORAL_NAMESPACE": "default",
            "REFINIRE_DATA_DIR": str(root / "data"),
            "OPENAI_BASE_URL": llm.url, "OPENAI_API_KEY": "sk-test-not-a-secret",
        })
        for var in ("TEMPORAL_PROFILE", "TEMPORAL_CONFIG_FILE", "REFINIRE_PAYLOAD_KEY"):
            os.environ.pop(var, None)
        failed: list[str] = []
        try:
            embedded.wait_listening(port, 60, proc, log)
            out.mkdir(parents=True, exist_ok=True)
            for name in names:
                path = out / f"{name}.json"
                started = time.monotonic()
                try:
                    await asyncio.wait_for(record_case(name, llm, path), 120)
                except Exception as exc:  # record the others; report this one
                    failed.append(name)
                    print(f"FAILED  {name}: {type(exc).__name__}: {exc}", file=sys.stderr)
                    continue
                print(f"recorded {path.relative_to(ROOT)} ({time.monotonic() - started:.1f} s)",
                      file=sys.stderr)
        finally:
            llm.httpd.shutdown()
            llm.httpd.server_close()
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    if failed:
        print(f"{len(failed)} case(s) not recorded: {failed}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="record.py", description=__doc__.splitlines()[0])
    parser.add_argument("version", help="the version recording, e.g. 0.1.0 (the pyproject version)")
    parser.add_argument("cases", nargs="*", metavar="CASE", help=f"default: all of {sorted(CASES)}")
    args = parser.parse_args(argv)
    names = args.cases or list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        print(f"Unknown case(s) {unknown}. Cases: {sorted(CASES)}", file=sys.stderr)
        return 2
    existing = [HERE / args.version / f"{n}.json" for n in names
                if (HERE / args.version / f"{n}.json").exists()]
    if existing:
        print("Refusing to overwrite recorded histories (a committed history is never re-recorded; "
              "see tests/histories/README.md):\n" + "\n".join(f"  {p.relative_to(ROOT)}" for p in existing)
              + "\nRecord under a new VERSION, or name only the cases not yet recorded.", file=sys.stderr)
        return 1
    return asyncio.run(record(args.version, names))


if __name__ == "__main__":
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("temporalio.activity").setLevel(logging.ERROR)  # the failing cases fail on purpose
    sys.exit(main())
