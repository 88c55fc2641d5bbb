"""Types survive a step: what a step stores is what the next step, the error handler, the result and
``show()`` get back, with the same type; anything else fails the step once, naming where it is.

The encoding itself (workflows/values.py) is checked first without a server; then real runs on the
session's dev server carry every supported type through steps, a condition, the error handler, a
parallel block, the run's result and the history readers.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import os
import socket
import subprocess
import sys
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from pydantic import BaseModel
from pydantic_core import to_json
from temporalio.client import WorkflowExecutionStatus
from temporalio.worker import Replayer

from refinire import ConditionStep, Flow, FlowExecutionError, FunctionStep, NonRetryableError
from workflows.values import NotEncodable, Opaque, decode, encode

ROOT = Path(__file__).resolve().parent.parent


class Tier(enum.Enum):
    GOLD = "gold"
    PAIR = (1, 2)


class Level(enum.IntEnum):
    LOW = 1


class Perm(enum.Flag):
    READ = 1
    WRITE = 2


class Order(BaseModel):
    id: int
    placed: datetime
    tags: set[str]
    total: Decimal
    ratio: tuple[int, int] = (1, 2)


@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    label: bytes = b""
    when: date | None = None


@dataclasses.dataclass
class Bag:
    items: list[Any]
    index: dict[Any, Any]


ID = UUID("6f1c1b0e-6d0c-4c7e-9a4f-2b1f5d3e8a10")


def samples() -> dict[str, Any]:
    """Every supported type (deterministic, so the error handler can build it in the workflow)."""
    return {
        "json": {"s": "héllo", "i": 2**70, "f": 1.5, "neg_zero": -0.0, "b": True, "n": None,
                 "l": [1, "a", [2.0]], "d": {"k": {"deep": [None]}}},
        "int_keys": {7: "seven", 8: {9: "nine"}},
        "scalar_keys": {1.5: "float", True: "bool", None: "none", (1, "a"): "tuple", ID: "uuid",
                        date(2026, 1, 1): "date", Tier.GOLD: "enum", frozenset({1}): "frozenset"},
        "tag_key": {"$type": "datetime", "v": "a user's own dict that happens to use the tag key"},
        "tuple": (1, (2, 3), "x", ()),
        "set": {3, 1, 2},
        "str_set": {"pear", "apple", "fig"},
        "frozenset": frozenset({"b", "a"}),
        "bytes": b"\xff\xfe\x00 not UTF-8 \x80",
        "empty_bytes": b"",
        "datetime_zone": datetime(2026, 11, 1, 1, 30, tzinfo=ZoneInfo("America/New_York"), fold=1),
        "datetime_naive": datetime(2026, 5, 1, 9, 30, 0, 123456),
        "datetime_utc": datetime(2026, 5, 1, tzinfo=timezone.utc),
        "datetime_offset": datetime(2026, 5, 1, 12, tzinfo=timezone(timedelta(hours=-3, minutes=-30))),
        "date": date(2026, 5, 1),
        "time": time(9, 30, 15, 7, tzinfo=timezone(timedelta(hours=9))),
        "time_naive": time(23, 59),
        "timedelta": timedelta(days=-1, seconds=5, microseconds=7),
        "decimal": Decimal("10.10"),
        "decimal_big": Decimal("-1.2345678901234567890123456789E+40"),
        "uuid": ID,
        "enum": Tier.GOLD,
        "enum_tuple_value": Tier.PAIR,
        "int_enum": Level.LOW,
        "flag": Perm.READ | Perm.WRITE,
        "path": Path("/srv/reports/2026-05.csv"),
        "pure_posix": PurePosixPath("a/b.txt"),
        "pure_windows": PureWindowsPath("C:\\data\\x.txt"),
        "model": Order(id=1, placed=datetime(2026, 5, 1, 8, tzinfo=ZoneInfo("Asia/Tokyo")),
                       tags={"new", "paid"}, total=Decimal("99.90")),
        "dataclass": Point(3, b"\x00\xff", date(2026, 1, 2)),
        "dataclass_any": Bag([(1, 2), {3}], {4: Decimal("0.5")}),
        "nan": float("nan"),
        "inf": float("-inf"),
        "nested": [{"when": date(2026, 1, 1), "ids": (ID,), 5: {b"k": {1.5}}}],
    }


def mismatches(got: Any, want: Any, path: str = "") -> list[str]:
    """Where ``got`` differs from ``want`` in value or in type, at any depth (dict key order too)."""
    if type(got) is not type(want):
        return [f"{path}: {type(got).__name__} {got!r} is not {type(want).__name__} {want!r}"]
    if isinstance(want, dict):
        if list(got) != list(want) or [type(k) for k in got] != [type(k) for k in want]:
            return [f"{path}: keys {list(got)!r} are not {list(want)!r}"]
        return [m for k in want for m in mismatches(got[k], want[k], f"{path}[{k!r}]")]
    if isinstance(want, (list, tuple)):
        if len(got) != len(want):
            return [f"{path}: {got!r} is not {want!r}"]
        return [m for i, (g, w) in enumerate(zip(got, want)) for m in mismatches(g, w, f"{path}[{i}]")]
    if isinstance(want, float) and math.isnan(want):
        return [] if math.isnan(got) else [f"{path}: {got!r} is not nan"]
    if isinstance(want, (datetime, time)):
        same = (got == want and got.utcoffset() == want.utcoffset() and got.tzinfo == want.tzinfo
                and getattr(got, "fold", 0) == getattr(want, "fold", 0))
        return [] if same else [f"{path}: {got!r} is not {want!r}"]
    if isinstance(want, BaseModel):
        return mismatches(dict(got), dict(want), f"{path}.")
    if dataclasses.is_dataclass(want):
        return mismatches(vars(got), vars(want), f"{path}.")
    if isinstance(want, float):
        return [] if (got == want and math.copysign(1, got) == math.copysign(1, want)) else [f"{path}: {got!r}"]
    return [] if got == want else [f"{path}: {got!r} is not {want!r}"]


# The encoding, without a server ---------------------------------------------------------------
def _through_json(value: Any) -> Any:
    return decode(json.loads(to_json(encode(value))))


def test_every_supported_type_round_trips_through_plain_json():
    want = samples()
    assert mismatches(_through_json(want), want) == []
    for name, value in want.items():
        assert mismatches(_through_json(value), value) == [], name


def test_plain_json_stays_as_it_is_readable_in_the_ui_and_decodes_as_before():
    plain = {"name": "x", "n": [1, 2.5, None, True], "nested": {"when": "2026-05-01T00:00:00"}}
    assert encode(plain) == plain  # untagged: what runs steps before this encoding hold
    assert decode(plain) == plain and decode(json.loads(json.dumps(plain))) == plain
    tagged = json.loads(to_json(encode({"when": datetime(2026, 5, 1, tzinfo=timezone.utc), 7: b"\xff"})))
    assert tagged == {"$type": "dict", "v": [
        ["when", {"$type": "datetime", "v": "2026-05-01T00:00:00+00:00"}],
        [7, {"$type": "bytes", "v": "/w=="}]]}


def test_a_users_dict_with_the_tag_key_is_escaped_and_comes_back_as_the_same_dict():
    mine = {"$type": "datetime", "v": "2026-05-01T00:00:00"}
    assert encode(mine)["$type"] == "dict"
    assert _through_json(mine) == mine and type(_through_json(mine)["v"]) is str


def test_sets_encode_in_a_stable_order_whatever_the_hash_seed():
    code = ("import sys; sys.path.insert(0, '.'); from pydantic_core import to_json; "
            "from workflows.values import encode; "
            "print(to_json(encode({'set': {'pear', 'apple', 'fig', 'kiwi', 'plum'}, "
            "'fs': frozenset({('a', 1), ('b', 2), ('c', 3)})})).decode())")
    outputs = {subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout for seed in (1, 2, 3)}
    assert len(outputs) == 1, outputs
    assert '["apple","fig","kiwi","pear","plum"]' in outputs.pop()


def test_values_that_cannot_travel_name_their_path_and_type():
    with socket.socket() as conn:
        with pytest.raises(NotEncodable) as err:
            encode({"items": [1, 2, 3, conn]}, "shared_state")
    assert err.value.path == "shared_state['items'][3]" and err.value.type_name == "socket.socket"
    cases = [
        ({"cb": lambda: 1}, "output['cb']", "function"),
        ([{1: {object()}}], "a member of output[0][1]", "object"),
        ({object(): 1}, "a key of output", "object"),
        ({"f": "report-\udcff.txt"}, "output['f']", "str"),
        (bytearray(b"x"), "output", "bytearray"),
        (Point(1, "not bytes but fine", when=object()), "output.when", "object"),  # type: ignore[arg-type]
    ]
    for value, path, kind in cases:
        with pytest.raises(NotEncodable) as err:
            encode(value, "output")
        assert (err.value.path, err.value.type_name) == (path, kind)

    def local_class():
        class Local(BaseModel):
            a: int = 1

        return Local()

    with pytest.raises(NotEncodable, match="define it at module level"):
        encode(local_class(), "output")


def test_a_class_this_process_has_not_imported_travels_on_unchanged():
    payload = {"$type": "pydantic", "class": "somewhere_else.models:Invoice", "v": {"id": 1}}
    value = decode({"k": payload})["k"]
    assert isinstance(value, Opaque) and encode(value) == payload  # sent on exactly as received
    with pytest.raises(AttributeError, match="module 'somewhere_else.models' is not imported"):
        value.id
    assert "somewhere_else" not in sys.modules  # never imported because a payload named it


# Real runs ------------------------------------------------------------------------------------
SEEN: dict[str, list[str]] = {}


def _store(data, ctx):
    ctx.shared_state["v"] = samples()
    ctx.shared_state[7] = "seven"
    ctx.shared_state[(2026, "q1")] = Decimal("1.5")
    SEEN["input"] = mismatches(data, datetime(2026, 5, 1, tzinfo=ZoneInfo("Asia/Tokyo")))
    return samples()


def _check(data, ctx):
    SEEN["check_data"] = mismatches(data, samples())
    SEEN["check_state"] = mismatches(ctx.shared_state["v"], samples())
    SEEN["check_keys"] = mismatches({k: ctx.shared_state[k] for k in (7, (2026, "q1"))},
                                    {7: "seven", (2026, "q1"): Decimal("1.5")})
    raise NonRetryableError("on to the error handler")


def _handler(error, ctx):
    SEEN["handler_state"] = mismatches(ctx.shared_state["v"], samples())
    SEEN["handler_result"] = mismatches(ctx.result, samples())
    SEEN["handler_keys"] = mismatches(ctx.shared_state[7], "seven")
    ctx.shared_state["handled"] = (datetime(2026, 5, 2, tzinfo=timezone.utc), {1, 2})
    return "finish"


def _finish(data, ctx):
    SEEN["finish_data"] = mismatches(data, samples())
    SEEN["finish_handled"] = mismatches(ctx.shared_state["handled"],
                                        (datetime(2026, 5, 2, tzinfo=timezone.utc), {1, 2}))
    return data


def _typed_flow() -> Flow:
    flow = Flow({
        "store": FunctionStep("store", _store, next_step="gate"),
        "gate": ConditionStep("gate", lambda ctx: isinstance(ctx.shared_state["v"]["date"], date)
                              and ctx.shared_state[7] == "seven", "check", "finish"),
        "check": FunctionStep("check", _check, next_step="finish"),
        "finish": FunctionStep("finish", _finish),
    }, name="types_every_value")
    flow.set_error_handler(_handler)
    return flow


async def test_every_type_reaches_the_next_step_the_error_handler_the_result_and_show(client):
    from client.history import steps
    from client.history.reader import read_run
    from client.history.trace import load_trace

    SEEN.clear()
    flow = _typed_flow()
    result = await flow.run(datetime(2026, 5, 1, tzinfo=ZoneInfo("Asia/Tokyo")))
    assert result.path == ["store", "gate", "check", "finish"]  # the condition read typed values
    assert {k: v for k, v in SEEN.items() if v} == {}
    assert set(SEEN) == {"input", "check_data", "check_state", "check_keys", "handler_state",
                         "handler_result", "handler_keys", "finish_data", "finish_handled"}
    assert mismatches(result.value, samples()) == []
    assert mismatches(result.shared_state["v"], samples()) == []
    assert result.shared_state[7] == "seven" and result.shared_state[(2026, "q1")] == Decimal("1.5")
    assert mismatches(flow.context.result, samples()) == []

    trace = await load_trace(client, result.run_id)  # what show() reads
    assert mismatches(trace.output, samples()) == []

    record = await read_run(client, result.run_id)  # what rerun starts from
    before_finish = steps.context_before(record, "finish")
    assert mismatches(before_finish.shared_state["v"], samples()) == []
    assert before_finish.shared_state[7] == "seven"
    assert mismatches(steps.context_before(record, "check").result, samples()) == []


async def test_payloads_stay_readable_tagged_json_in_the_history(client):
    flow = Flow(steps=[FunctionStep("stamp", lambda d, c: c.shared_state.update(
        at=datetime(2026, 5, 1, tzinfo=timezone.utc), raw=b"\xff", n={7: "x"}) or "ok")],
        name="types_readable")
    result = await flow.run("x")
    events = [e async for e in client.get_workflow_handle(result.run_id).fetch_history_events()]
    done = [e.activity_task_completed_event_attributes.result.payloads[0]
            for e in events if e.HasField("activity_task_completed_event_attributes")]
    body = json.loads(done[0].data)  # plain JSON: what the Temporal UI shows
    assert ["at", {"$type": "datetime", "v": "2026-05-01T00:00:00+00:00"}] in body["delta"]["set"]
    assert ["raw", {"$type": "bytes", "v": "/w=="}] in body["delta"]["set"]
    assert ["n", {"$type": "dict", "v": [[7, "x"]]}] in body["delta"]["set"]
    assert b"pickle" not in done[0].metadata.get("encoding", b"")


async def test_a_run_with_typed_values_replays_with_the_current_code(client):
    from client.connection.codec import data_converter
    from workflows.refinire_flow import WORKFLOWS
    from client.serving.worker import SANDBOX_RUNNER

    flow = _typed_flow()
    result = await flow.run(datetime(2026, 5, 1, tzinfo=ZoneInfo("Asia/Tokyo")))
    history = await client.get_workflow_handle(result.run_id).fetch_history()
    replay = await Replayer(workflows=WORKFLOWS, workflow_runner=SANDBOX_RUNNER,
                            data_converter=data_converter()).replay_workflow(history, raise_on_replay_failure=False)
    assert replay.replay_failure is None


async def _attempts(client, run_id: str) -> list[int]:
    return [e.activity_task_started_event_attributes.attempt
            async for e in client.get_workflow_handle(run_id).fetch_history_events()
            if e.HasField("activity_task_started_event_attributes")]


async def test_an_unsupported_value_fails_the_step_once_naming_flow_step_path_and_type(client):
    conn = socket.socket()

    def opener(data, ctx):
        ctx.shared_state["items"] = [1, 2, 3, conn]
        return "opened"

    try:
        flow = Flow(steps=[FunctionStep("opener", opener)], name="types_socket", retry=5)
        with pytest.raises(FlowExecutionError) as err:
            await flow.run(None)
    finally:
        conn.close()
    message = str(err.value)
    assert err.value.cause_type == "NotSerializable" and err.value.step == "opener"
    assert "Flow 'types_socket'" in message and "step 'opener'" in message
    assert "shared_state['items'][3]" in message and "socket.socket" in message
    assert await _attempts(client, err.value.run_id) == [1]  # failed once, never retried
    desc = await client.get_workflow_handle(err.value.run_id).describe()
    assert desc.status == WorkflowExecutionStatus.FAILED

    flow = Flow(steps=[FunctionStep("callback", lambda d, c: {"rows": [{"on_done": lambda: 1}]})],
                name="types_lambda", retry=5)
    with pytest.raises(FlowExecutionError) as err:
        await flow.run(None)
    assert "step 'callback'" in str(err.value) and "output['rows'][0]['on_done']" in str(err.value)
    assert "a function" in str(err.value)
    assert await _attempts(client, err.value.run_id) == [1]


async def test_an_unsupported_value_goes_to_the_error_handler_like_any_step_failure():
    seen: dict[str, Any] = {}

    def handler(error, ctx):
        seen["type"], seen["message"] = type(error).__name__, str(error)
        return "rescue"

    flow = Flow({
        "bad": FunctionStep("bad", lambda d, c: c.shared_state.update(gen=(i for i in "ab")) or "x",
                            next_step="rescue"),
        "rescue": FunctionStep("rescue", lambda d, c: f"rescued {sorted(c.shared_state)}"),
    }, name="types_rescued")
    flow.set_error_handler(handler)
    assert await flow.run("in") == "rescued []"  # the bad step's write never reached the context
    assert seen["type"] == "NotSerializable" and "shared_state['gen']" in seen["message"]


async def test_non_utf8_bytes_round_trip_instead_of_failing_every_retry():
    flow = Flow({
        "read": FunctionStep("read", lambda d, c: c.shared_state.update(raw=b"\x89PNG\r\n\x1a\n\xff") or b"\xc3\x28",
                             next_step="use"),
        "use": FunctionStep("use", lambda d, c: (d, c.shared_state["raw"], type(d).__name__)),
    }, name="types_bytes")
    result = await flow.run(None)
    assert result.value == (b"\xc3\x28", b"\x89PNG\r\n\x1a\n\xff", "bytes")


def _branch_a(data, ctx):
    ctx.shared_state["a_when"] = datetime(2026, 5, 1, 9, tzinfo=ZoneInfo("Europe/Paris"))
    return (data, Decimal("1.10"))


def _branch_b(data, ctx):
    ctx.shared_state["b_ids"] = {ID, UUID(int=1)}
    ctx.shared_state[42] = Tier.GOLD
    return {3: Point(1), "raw": b"\xff"}


def _after_block(data, ctx):
    want_a = ("go", Decimal("1.10"))
    want_b = {3: Point(1), "raw": b"\xff"}
    problems = (mismatches(data, {"a": want_a, "b": want_b})
                + mismatches(ctx.shared_state["a"], want_a) + mismatches(ctx.shared_state["b"], want_b)
                + mismatches(ctx.shared_state["a_when"], datetime(2026, 5, 1, 9, tzinfo=ZoneInfo("Europe/Paris")))
                + mismatches(ctx.shared_state["b_ids"], {ID, UUID(int=1)})
                + mismatches(ctx.shared_state[42], Tier.GOLD)
                + mismatches(ctx.shared_state["__a_metadata__"]["output"], want_a))
    return problems or "all typed"


async def test_a_parallel_block_keeps_each_branchs_types():
    flow = Flow({
        "fan": {"parallel": [FunctionStep("a", _branch_a), FunctionStep("b", _branch_b)],
                "next_step": "after"},
        "after": FunctionStep("after", _after_block),
    }, name="types_parallel")
    result = await flow.run("go")
    assert result.value == "all typed"
    assert type(result.shared_state["b"][3]) is Point and result.shared_state[42] is Tier.GOLD


async def test_a_step_that_changes_only_a_type_is_a_change():
    flow = Flow({
        "seed": FunctionStep("seed", lambda d, c: c.shared_state.update(s=[1, 2], t=[1, 2]) or [1, 2],
                             next_step="retype"),
        "retype": FunctionStep("retype", lambda d, c: c.shared_state.update(s={1, 2}, t=(1, 2)) or (1, 2),
                               next_step="look"),
        "look": FunctionStep("look", lambda d, c: [type(x).__name__ for x in (d, c.shared_state["s"],
                                                                             c.shared_state["t"])]),
    }, name="types_retyped")
    assert (await flow.run(None)).value == ["tuple", "set", "tuple"]


async def test_the_input_and_a_given_context_keep_their_types_too():
    from refinire import Context

    ctx = Context(shared_state={"since": date(2026, 1, 1)})
    ctx.shared_state[3] = frozenset({"x"})
    flow = Flow(steps=[FunctionStep("look", lambda d, c: (type(d).__name__, d, c.shared_state["since"],
                                                             c.shared_state[3]))], name="types_input")
    result = await flow.run({"order": Decimal("5.00"), 9: (1, 2)}, ctx)
    assert mismatches(result.value, ("dict", {"order": Decimal("5.00"), 9: (1, 2)}, date(2026, 1, 1),
                                     frozenset({"x"}))) == []
    assert ctx.shared_state[3] == frozenset({"x"})  # the caller's context got the final state back


async def test_an_input_that_cannot_travel_is_refused_before_anything_starts(client):
    flow = Flow(steps=[FunctionStep("never", lambda d, c: d)], name="types_bad_input")
    with pytest.raises(FlowExecutionError) as err:
        await flow.run({"rows": [1, object()]}, run_id="types-bad-input-1")
    assert "the run's input['rows'][1] holds a object" in str(err.value)
    assert "nothing was started" in str(err.value) and err.value.cause_type == "NotSerializable"
    with pytest.raises(Exception, match="not found"):
        await client.get_workflow_handle("types-bad-input-1").describe()
