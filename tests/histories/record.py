"""Record the replay corpus: ``python tests/histories/record.py VERSION [CASE ...]``.

Starts its own Temporal dev server (free port, temporary SQLite file) and the scripted local
OpenAI-compatible server (tests/openai_server.py), runs each case's flow from tests/flows/corpus.py
with an in-process worker, checks the run did what the case is for, and writes the run's event
history to ``tests/histories/VERSION/<case>.json`` (``WorkflowHistory.to_json()``; the ``sealed``
case keeps its payloads sealed). Workflow ids are ``corpus-<case>``.

A run that continued as new is a chain of Temporal runs under one workflow id: every one of them is
written, oldest first, as ``<case>.1.json``, ``<case>.2.json``, ... (``client.history.chain.fetch_chain``).

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

import flows.corpus as corpus  # noqa: E402
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
    runs: int = 1
    """At least this many Temporal runs (a chain: ``runs - 1`` continuations as new)."""
    histories: Callable[[list[Any]], str | None] | None = None
    """Checks the run's histories (oldest first); returns what is wrong, or ``None``."""
    cancel_when: Callable[[], bool] | None = None
    """Cancel the run (``handle.cancel()``) once this is true; the run must end CANCELED, and
    ``expect`` checks the ``FlowCancelled`` its result raises."""


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



def _events(history: Any, kind: str) -> int:
    from temporalio.api.enums.v1 import EventType

    wanted = EventType.Value(f"EVENT_TYPE_{kind}")
    return sum(1 for e in history.events if e.event_type == wanted)


def _answered_in_a_later_run(chain: list[Any]) -> str | None:
    runs = [i + 1 for i, h in enumerate(chain) if _events(h, "WORKFLOW_EXECUTION_UPDATE_ACCEPTED")]
    if len(runs) != 1 or runs[0] < 2:
        return f"the answer should be taken once, by a run after the first; taken by run(s) {runs} of {len(chain)}"
    return None


def _checkpoints(chain: list[Any]) -> str | None:
    # A 1 ms timer before the checkpoint-by-activity patch, the refinire.checkpoint activity after.
    timers = sum(_events(h, "TIMER_STARTED") + _events(h, "ACTIVITY_TASK_SCHEDULED") for h in chain)
    markers = sum(_events(h, "MARKER_RECORDED") for h in chain)
    if timers < 2 or markers < 200:
        return f"expected >= 2 checkpoints and >= 200 local-activity markers, got {timers} and {markers}"
    return None


def _big(chain: list[Any]) -> str | None:
    size = sum(len(h.to_json()) for h in chain)
    return None if size >= 200_000 else f"the history is only {size:,} bytes"


def _merged(result: Any) -> bool:
    s = result.shared_state
    return (result.value == "a=a:<m> | b=b:<m> | c=c:<m> ; log=['prep', 'a', 'b', 'c'] count=16 "
                           "best=bbb doomed=False"
            and s["log"] == ["prep", "a", "b", "c"] and s["count"] == 16 and s["best"] == "bbb"
            and "doomed" not in s and s["kept"] == "as is"
            and [s.get(f"{b}_only") for b in "abc"] == ["a saw <m>", "b saw <m>", "c saw <m>"])


DRIVE.update({
    "chain": Case(30, _ok("sum 465 after 30 with 3000 bytes", i=30, seen=[27, 28, 29, 30]), runs=4),
    "chain_wait": Case(12, _ok("teal after 12 rounds", i=12), answers=["teal"], runs=2,
                       histories=_answered_in_a_later_run),
    "parallel_merge": Case("m", _merged),
    "local_loop": Case(250, _ok("local loop ran 250 times", i=250), histories=_checkpoints),
    "big_state": Case("0123456789", lambda r: r.value == "200000 bytes, 200 rows, first 'row zero'"
                      and r.shared_state["touched"] is True and len(r.shared_state["big"]) == 200_000,
                      histories=_big),
})

def _typed(result: Any) -> bool:
    from datetime import date, timedelta
    from decimal import Decimal
    from pathlib import PurePosixPath

    s, parcel = result.shared_state, corpus.Parcel
    want = (corpus.Color.TEAL, parcel("SKU-T-7", Decimal("21.150"), (10, 20, 30),
                                      frozenset({"gift", "fragile", "b", "top", "up"})),
            corpus.TYPES_BLOB[::-1], {5: corpus.TYPES_ORDER_ID}, Decimal("39.80"))
    value = result.value
    return (type(value) is tuple and value == want and type(value[1]) is parcel
            and type(value[4]) is Decimal and str(value[4]) == "39.80"
            and result.path == ["make", "typed", "use", "finish"]
            and s["placed"] == corpus.TYPES_PLACED and s["placed"].tzinfo.key == "Asia/Tokyo"
            and s["shipped"] == corpus.TYPES_SHIPPED and s["shipped"].utcoffset() == timedelta(hours=-5)
            and type(s["due"]) is date and type(s["total"]) is Decimal and s["order_id"] == corpus.TYPES_ORDER_ID
            and s["tags"] == {"gift", "fragile", "b"} and s["dims"] == (30, 20, 10)
            and s["blob"] == corpus.TYPES_BLOB
            and s["by_int"] == {1: "one", 2: "two", -7: "minus seven"} and s["color"] is corpus.Color.TEAL
            and s["where"] == PurePosixPath("/srv/orders/a.json") and s["tagged"] == {"$type": "a user's own key"}
            and type(s["parcel"]) is parcel and type(s["order"]) is corpus.Order
            and s["order"].lines == {1: "T-7 widget", 2: "gift wrap"} and "note" not in s["order"].model_fields_set
            and s["late"] == corpus.TYPES_PLACED + timedelta(hours=36) and s["late"].tzinfo.key == "Asia/Tokyo"
            and s["seen"] == ["result:Order", "blob:bytes", "by_int:dict", "color:Color", "dims:tuple",
                              "due:date", "order:Order", "order_id:UUID", "parcel:Parcel", "placed:datetime",
                              "shipped:datetime", "tagged:dict", "tags:set", "total:Decimal",
                              "where:PurePosixPath", "window:timedelta"])


def _cancelled_for_good(chain: list[Any]) -> str | None:
    from temporalio.api.enums.v1 import EventType

    last = chain[-1].events[-1].event_type
    if len(chain) != 1 or last != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
        return f"the run should end WorkflowExecutionCanceled, ended {EventType.Name(last)}"
    if (_events(chain[0], "ACTIVITY_TASK_CANCEL_REQUESTED") != 1
            or _events(chain[0], "ACTIVITY_TASK_SCHEDULED") != 2):
        return "expected the steps before and wait scheduled, and wait's cancel requested, nothing after"
    patches = [p.data for e in chain[0].events if e.HasField("marker_recorded_event_attributes")
               for d in e.marker_recorded_event_attributes.details.values() for p in d.payloads]
    if not any(b"cancel-is-a-cancel" in data for data in patches):
        return f"the run did not take the cancel-is-a-cancel patch (markers: {patches})"
    return None


DRIVE.update({
    "types": Case("T-7", _typed),
    "handler_class": Case("order 7", _ok("retry order 7 in 30.5 s (card_expired)",
                                         error_class="flows.corpus.PaymentDeclined", code="card_expired",
                                         retry_in=30.5, message="card declined for order 7")),
    "cancelled": Case("c", lambda e: "was cancelled" in str(e) and corpus.CANCEL_STARTED == ["<c>"],
                      cancel_when=lambda: bool(corpus.CANCEL_STARTED), histories=_cancelled_for_good),
})

assert set(DRIVE) == set(CASES), "every corpus flow needs a way to be driven, and vice versa"


async def _until(predicate: Callable[[], bool], what: str, deadline_s: float = 30.0) -> None:
    end = time.monotonic() + deadline_s
    while not predicate():
        if time.monotonic() > end:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def targets(out: Path, name: str) -> list[Path]:
    """The files a case's history is (or would be) in: ``<case>.json``, or a chain's parts."""
    return sorted(p for p in out.glob(f"{name}.*json") if p.name == f"{name}.json"
                  or (p.name.count(".") == 2 and p.name.split(".")[1].isdigit()))


async def record_case(name: str, llm: Any, out: Path) -> list[Path]:
    from client.history.chain import fetch_chain
    from client.connection.codec import KEY_ENV
    from client.connection.connect import connect
    from client.running.handle import RunHandle
    from client.running.start import start_run
    from temporalio.client import WorkflowExecutionStatus

    from refinire.errors import FlowCancelled, FlowExecutionError
    from client.serving.worker import build_worker

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
        if case.cancel_when is not None:
            await _until(case.cancel_when, f"case {name!r}: the moment to cancel it")
            await handle.cancel()
        fails = case.fails or case.cancel_when is not None
        try:
            outcome: Any = await handle.result()
        except FlowExecutionError as err:
            if not fails:
                raise
            outcome = err
        else:
            if fails:
                raise AssertionError(f"case {name!r} was meant to fail but returned {outcome.value!r}")
        if case.cancel_when is not None:
            status = (await raw.describe()).status
            if not isinstance(outcome, FlowCancelled) or status != WorkflowExecutionStatus.CANCELED:
                raise AssertionError(f"case {name!r} was cancelled but ended {status!r}: {outcome!r}")
    if not case.expect(outcome):
        detail = outcome if fails else (outcome.value, outcome.shared_state, outcome.path)
        raise AssertionError(f"case {name!r} did not do what it is for: {detail!r}")
    if len(llm.queue):
        raise AssertionError(f"case {name!r} left {len(llm.queue)} scripted model replies unused")
    chain = await fetch_chain(client, run_id)
    if len(chain) < case.runs:
        raise AssertionError(f"case {name!r} ran as {len(chain)} Temporal run(s), meant to be at least "
                             f"{case.runs} (continued as new {case.runs - 1} times)")
    problem = case.histories(chain) if case.histories else None
    if problem:
        raise AssertionError(f"case {name!r}: {problem}")
    texts = [h.to_json() for h in chain]
    if case.sealed and any("YmluYXJ5L2VuY3J5cHRlZA==" not in t for t in texts):  # b"binary/encrypted"
        raise AssertionError("the sealed case's history holds unsealed payloads")
    paths = ([out / f"{name}.json"] if len(chain) == 1
             else [out / f"{name}.{i}.json" for i in range(1, len(chain) + 1)])
    if targets(out, name):
        raise AssertionError(f"case {name!r} has histories already: {targets(out, name)}")
    for path, text in zip(paths, texts):
        with path.open("x") as f:  # "x": never overwrite, even if a file appeared meanwhile
            f.write(text)
    return paths


async def record(version: str, names: list[str]) -> int:
    from client.connection import embedded
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
                started = time.monotonic()
                try:
                    paths = await asyncio.wait_for(record_case(name, llm, out), 120)
                except Exception as exc:  # record the others; report this one
                    failed.append(name)
                    print(f"FAILED  {name}: {type(exc).__name__}: {exc}", file=sys.stderr)
                    continue
                print(f"recorded {', '.join(str(p.relative_to(ROOT)) for p in paths)} "
                      f"({time.monotonic() - started:.1f} s)", file=sys.stderr)
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
    existing = [p for n in names for p in targets(HERE / args.version, n)]
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
