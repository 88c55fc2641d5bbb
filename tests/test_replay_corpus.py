"""The deploy gate for runs in flight: every recorded history replays with the current code.

tests/histories/<version>/<case>.json are event histories recorded by tests/histories/record.py
(from the flows in tests/flows/corpus.py) with the workflow code of that version. Temporal's
Replayer re-runs the current FlowWorkflow against each one; a change in what the workflow does
(commands issued, their order, conditions' outcomes) fails the replay, naming the history.
A run that continued as new is a chain of Temporal runs, recorded as <case>.1.json, <case>.2.json, ...
(oldest first); each one is replayed on its own, as Temporal replays each run of a chain.
A failure here is fixed in the workflow (``workflow.patched`` or a format version in the run's
input), never by re-recording the history (DESIGN.md rule 10).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import Replayer

from client.connection.codec import ENCODING, EncryptionCodec, data_converter, parse_key
from flows import corpus
from workflows.refinire_flow import WORKFLOWS
from client.serving.worker import STRICT_RUNNER

HISTORIES = Path(__file__).parent / "histories"
FILES = sorted(HISTORIES.glob("**/*.json"))
UNVERSIONED = ("by_name_flow.json",)
"""Recorded before histories were kept by version; they stay where they were recorded (a history is
never moved, re-recorded or removed)."""

REQUIRED_CASES = [
    "function", "condition", "routes", "parallel", "retries", "error_handler", "loop",
    "agent_eval", "router_llm", "router_rule", "clarify_answered", "clarify_timeout", "user_input",
    "local", "custom", "failed", "by_name", "sealed",
    "chain", "chain_wait", "parallel_merge", "local_loop", "big_state",
    "types", "handler_class", "cancelled",
]
"""Every case the newest recorded version must cover. Add to it; never remove from it."""


def _version_key(folder: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in folder.name.split("."))


def _case_and_part(path: Path) -> tuple[str, int | None]:
    """``chain.2.json`` is part 2 of case ``chain``; ``function.json`` is case ``function``, one part."""
    case, _, part = path.stem.partition(".")
    return case, (int(part) if part else None)


def _ident(path: Path) -> str:
    """``<version>/<case>``, or ``<version>/<case>/<part>`` for one Temporal run of a chain."""
    case, part = _case_and_part(path)
    version = "unversioned" if path.parent == HISTORIES else path.parent.name
    return f"{version}/{case}" + (f"/{part}" if part is not None else "")


def _load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(f"corpus-{_case_and_part(path)[0]}", json.loads(path.read_text()))


def _chains() -> dict[tuple[str, str], list[Path]]:
    """(version, case) -> the parts of every chained recording, in part order."""
    chains: dict[tuple[str, str], list[Path]] = {}
    for path in FILES:
        case, part = _case_and_part(path)
        if part is not None:
            chains.setdefault((path.parent.name, case), []).append(path)
    return {k: sorted(v, key=lambda p: _case_and_part(p)[1]) for k, v in chains.items()}


def _is_sealed(history_json: str) -> bool:
    import base64

    return base64.b64encode(ENCODING).decode() in history_json


def _converter(path: Path) -> DataConverter:
    """The project's converter; for a sealed history, the one holding the corpus's test key."""
    if _is_sealed(path.read_text()):
        return data_converter(EncryptionCodec(parse_key(corpus.TEST_PAYLOAD_KEY)))
    return data_converter()


def _replayer(converter: DataConverter) -> Replayer:
    return Replayer(workflows=WORKFLOWS, workflow_runner=STRICT_RUNNER, data_converter=converter)


@pytest.fixture(scope="module", autouse=True)
def corpus_flows():
    corpus.register_all()


def test_the_corpus_is_there():
    assert FILES, f"no recorded histories under {HISTORIES}"
    versions = [p for p in HISTORIES.iterdir() if p.is_dir()]
    assert all(p.parent.parent == HISTORIES or (p.parent == HISTORIES and p.name in UNVERSIONED)
               for p in FILES), "histories live in tests/histories/<version>/"
    assert all((HISTORIES / name).exists() for name in UNVERSIONED), "a recorded history was removed"
    for folder in versions:
        _version_key(folder)  # every folder is a version: X.Y.Z
    for path in FILES:
        case, part = _case_and_part(path)
        assert case and "." not in path.stem.partition(".")[2], f"{path.name}: <case>.json or <case>.<part>.json"
        assert not (path.parent / f"{case}.json").exists() or part is None, (
            f"{path.parent.name}/{case} is recorded both whole and as a chain")


def test_each_chain_is_whole_and_in_order():
    """A chain's parts are numbered 1..N, part 1 is a first run, and each later part continues the one
    before it (its start event names that run), so no Temporal run of the chain is missing."""
    from client.history.chain import previous_run_id

    chains = _chains()
    assert ("0.2.0", "chain") in chains and len(chains["0.2.0", "chain"]) >= 4
    for (version, case), parts in chains.items():
        numbers = [_case_and_part(p)[1] for p in parts]
        assert numbers == list(range(1, len(parts) + 1)), f"{version}/{case}: parts {numbers}"
        assert len(parts) >= 2, f"{version}/{case}: a chain of one run is recorded as {case}.json"
        histories = [_load(p) for p in parts]
        assert previous_run_id(histories[0]) is None, f"{version}/{case}/1 continues an unrecorded run"
        for n, (before, after) in enumerate(zip(histories, histories[1:]), start=2):
            assert previous_run_id(after) == before.run_id, f"{version}/{case}/{n} does not continue part {n - 1}"


@pytest.mark.parametrize("path", FILES, ids=_ident)
async def test_history_replays_with_the_current_code(path: Path):
    result = await _replayer(_converter(path)).replay_workflow(_load(path), raise_on_replay_failure=False)
    assert result.replay_failure is None, (
        f"{_ident(path)} no longer replays: {result.replay_failure!r}. A run in flight recorded by that "
        "version would break. Keep the old behaviour behind workflow.patched (or a format version in "
        "the run's input); never re-record the history.")


def test_replays_load_the_interpreter_in_the_sandbox():
    """Workers pass the interpreter through the sandbox (it loads once, not once per run); the
    replays above must not, so the sandbox still checks the interpreter's own code on every change:
    a clock read there fails them (RestrictedWorkflowAccessError)."""
    from client.serving.worker import SANDBOX_RUNNER

    def passed_through(runner: Any, module: str) -> bool:
        names = runner.inner.restrictions.passthrough_modules  # inside DecodeAwareRunner
        return any(module == n or module.startswith(n + ".") for n in names)

    assert passed_through(SANDBOX_RUNNER, "workflows.flow_workflow")
    assert not passed_through(STRICT_RUNNER, "workflows.flow_workflow")
    assert not passed_through(STRICT_RUNNER, "workflows")
    assert passed_through(STRICT_RUNNER, "workflows.delta")  # the helpers, as workers have them


def test_the_newest_version_covers_every_required_case():
    newest = max((p for p in HISTORIES.iterdir() if p.is_dir()), key=_version_key)
    recorded = {_case_and_part(p)[0] for p in newest.glob("*.json")}
    missing = [c for c in REQUIRED_CASES if c not in recorded]
    assert not missing, (f"{newest.name} lacks histories for {missing}: record them with "
                         f"`python tests/histories/record.py {newest.name} {' '.join(missing)}`")
    assert set(REQUIRED_CASES) == set(corpus.CASES), (
        "REQUIRED_CASES and tests/flows/corpus.py CASES must list the same cases")


def test_the_sealed_history_is_sealed_and_needs_the_key():
    path = HISTORIES / "0.1.0" / "sealed.json"
    assert _is_sealed(path.read_text())
    assert not _is_sealed((HISTORIES / "0.1.0" / "function.json").read_text())


async def test_the_sealed_history_does_not_replay_without_its_key():
    path = HISTORIES / "0.1.0" / "sealed.json"
    result = await _replayer(data_converter()).replay_workflow(_load(path), raise_on_replay_failure=False)
    assert result.replay_failure is not None
    assert "binary/encrypted" in str(result.replay_failure)


async def test_the_gate_catches_a_changed_condition(monkeypatch):
    """The gate can fail: flip the corpus condition's outcome and its history no longer replays."""
    path = HISTORIES / "0.1.0" / "condition.json"
    replayer = _replayer(_converter(path))
    assert (await replayer.replay_workflow(_load(path), raise_on_replay_failure=False)).replay_failure is None
    step = corpus.corpus_condition._steps["age_check"]
    original = step.condition
    monkeypatch.setattr(step, "condition", lambda ctx: not original(ctx))
    result = await replayer.replay_workflow(_load(path), raise_on_replay_failure=False)
    assert result.replay_failure is not None
    assert "Nondeterminism" in str(result.replay_failure)
    assert "adult" in str(result.replay_failure) and "minor" in str(result.replay_failure)


async def test_the_gate_catches_a_changed_condition_in_a_later_run_of_a_chain(monkeypatch):
    """A later Temporal run of a chain replays from its own start (the continuation's input) through
    the corpus code: stop the loop one iteration early and part 3 no longer replays."""
    path = _chains()["0.2.0", "chain"][2]
    replayer = _replayer(_converter(path))
    assert (await replayer.replay_workflow(_load(path), raise_on_replay_failure=False)).replay_failure is None
    step = corpus.corpus_chain._steps["more"]
    monkeypatch.setattr(step, "condition", lambda ctx: ctx.shared_state["i"] < 1)
    result = await replayer.replay_workflow(_load(path), raise_on_replay_failure=False)
    assert result.replay_failure is not None and "Nondeterminism" in str(result.replay_failure)


async def test_the_gate_runs_the_recorded_merge_function(monkeypatch):
    """parallel_merge's ``best`` is merged by a function from the corpus code during replay."""
    path = HISTORIES / "0.2.0" / "parallel_merge.json"
    calls: list[tuple[str, str]] = []

    def spy(a, b):
        calls.append((a, b))
        return corpus.longer(a, b)

    monkeypatch.setitem(corpus.corpus_parallel_merge._steps["fan"].merge, "best", spy)
    result = await _replayer(_converter(path)).replay_workflow(_load(path), raise_on_replay_failure=False)
    assert result.replay_failure is None
    assert calls == [("a", "bbb"), ("bbb", "cc")]


async def test_the_gate_catches_a_value_that_comes_back_with_another_type(monkeypatch):
    """types' condition checks every stored value's type inside the workflow: decode Decimals as
    floats and it routes to ``mismatch``, so the history no longer replays."""
    from workflows import values

    path = HISTORIES / "0.3.0" / "types.json"
    replayer = _replayer(_converter(path))
    assert (await replayer.replay_workflow(_load(path), raise_on_replay_failure=False)).replay_failure is None
    monkeypatch.setitem(values._READERS, "Decimal", lambda d: float(d["v"]))
    result = await replayer.replay_workflow(_load(path), raise_on_replay_failure=False)
    assert result.replay_failure is not None and "Nondeterminism" in str(result.replay_failure)
    assert "mismatch" in str(result.replay_failure)


async def test_the_gate_catches_an_error_handler_given_a_stand_in(monkeypatch):
    """handler_class's handler routes on the user's own exception class: hide the class (the handler
    gets a StepError stand-in) and it routes to ``unexpected``, so the history no longer replays."""
    from refinire import loaded

    path = HISTORIES / "0.3.0" / "handler_class.json"
    replayer = _replayer(_converter(path))
    assert (await replayer.replay_workflow(_load(path), raise_on_replay_failure=False)).replay_failure is None
    monkeypatch.setattr(loaded, "_MODULES", {k: v for k, v in sys.modules.items() if k != corpus.__name__})
    result = await replayer.replay_workflow(_load(path), raise_on_replay_failure=False)
    assert result.replay_failure is not None and "Nondeterminism" in str(result.replay_failure)
    assert "unexpected" in str(result.replay_failure)


async def test_the_gate_catches_a_cancel_taken_as_a_step_failure(monkeypatch):
    """cancelled ended CANCELED without calling its error handler: take the cancel as a step failure
    (as before the cancel-is-a-cancel patch) and the handler runs and routes to ``fallback`` (its
    decision's memo, then the step), which the history does not have."""
    from temporalio import workflow

    from workflows import runtime

    path = HISTORIES / "0.3.0" / "cancelled.json"
    replayer = _replayer(_converter(path))
    assert (await replayer.replay_workflow(_load(path), raise_on_replay_failure=False)).replay_failure is None
    monkeypatch.setattr(runtime, "cancelled", lambda err: not workflow.patched(runtime.CANCEL_PATCH))
    result = await replayer.replay_workflow(_load(path), raise_on_replay_failure=False)
    assert result.replay_failure is not None and "Nondeterminism" in str(result.replay_failure)


async def test_runs_of_format_3_are_named_after_their_flow_and_need_the_dynamic_interpreter():
    """From 0.4.0 on a run's workflow type is its flow's name and its input [input, settings]:
    only the dynamic interpreter replays it, and runs of the type ``RefinireFlow`` still replay."""
    from workflows.refinire_flow import FlowByName, FlowWorkflow

    path = HISTORIES / "0.4.0" / "function.json"
    history = _load(path)
    started = history.events[0].workflow_execution_started_event_attributes
    assert started.workflow_type.name == "corpus_function" and len(started.input.payloads) == 2
    replayer = Replayer(workflows=[FlowWorkflow], workflow_runner=STRICT_RUNNER, data_converter=data_converter())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is not None and "not registered" in str(result.replay_failure)
    old = _load(HISTORIES / "0.3.0" / "function.json")
    assert old.events[0].workflow_execution_started_event_attributes.workflow_type.name == "RefinireFlow"
    both = Replayer(workflows=[FlowWorkflow, FlowByName], workflow_runner=STRICT_RUNNER, data_converter=data_converter())
    for one in (history, old):
        assert (await both.replay_workflow(one, raise_on_replay_failure=False)).replay_failure is None


def _recorder():
    import importlib.util

    spec = importlib.util.spec_from_file_location("corpus_record", HISTORIES / "record.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_recorder_refuses_to_overwrite_a_recorded_history(capsys):
    record = _recorder()
    assert set(record.DRIVE) == set(corpus.CASES)
    before = (HISTORIES / "0.1.0" / "function.json").read_bytes()
    assert record.main(["0.1.0", "function"]) == 1  # refuses before starting any server
    assert "Refusing to overwrite" in capsys.readouterr().err
    assert (HISTORIES / "0.1.0" / "function.json").read_bytes() == before
    chain = _chains()["0.2.0", "chain"]
    assert record.targets(HISTORIES / "0.2.0", "chain") == sorted(chain)  # not chain_wait's parts
    assert record.main(["0.2.0", "chain"]) == 1  # a chain's parts count as its history
    assert "0.2.0/chain.1.json" in capsys.readouterr().err
    assert record.main(["0.1.0", "no_such_case"]) == 2
