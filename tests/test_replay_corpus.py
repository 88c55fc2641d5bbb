"""The deploy gate for runs in flight: every recorded history replays with the current code.

tests/histories/<version>/<case>.json are event histories recorded by tests/histories/record.py
(from the flows in tests/flows/corpus.py) with the workflow code of that version. Temporal's
Replayer re-runs the current FlowWorkflow against each one; a change in what the workflow does
(commands issued, their order, conditions' outcomes) fails the replay, naming the history.
A failure here is fixed in the workflow (``workflow.patched`` or a format version in the run's
input), never by re-recording the history (DESIGN.md rule 10).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import Replayer

from client.codec import ENCODING, EncryptionCodec, data_converter, parse_key
from flows import corpus
from workflows.flow_workflow import FlowWorkflow
from worker import _RUNNER

HISTORIES = Path(__file__).parent / "histories"
FILES = sorted(HISTORIES.glob("**/*.json"))

REQUIRED_CASES = [
    "function", "condition", "routes", "parallel", "retries", "error_handler", "loop",
    "agent_eval", "router_llm", "router_rule", "clarify_answered", "clarify_timeout", "user_input",
    "local", "custom", "failed", "by_name", "sealed",
]
"""Every case the newest recorded version must cover. Add to it; never remove from it."""


def _version_key(folder: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in folder.name.split("."))


def _ident(path: Path) -> str:
    return path.relative_to(HISTORIES).with_suffix("").as_posix()


def _load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(f"corpus-{path.stem}", json.loads(path.read_text()))


def _is_sealed(history_json: str) -> bool:
    import base64

    return base64.b64encode(ENCODING).decode() in history_json


def _converter(path: Path) -> DataConverter:
    """The project's converter; for a sealed history, the one holding the corpus's test key."""
    if _is_sealed(path.read_text()):
        return data_converter(EncryptionCodec(parse_key(corpus.TEST_PAYLOAD_KEY)))
    return data_converter()


def _replayer(converter: DataConverter) -> Replayer:
    return Replayer(workflows=[FlowWorkflow], workflow_runner=_RUNNER, data_converter=converter)


@pytest.fixture(scope="module", autouse=True)
def corpus_flows():
    corpus.register_all()


def test_the_corpus_is_there():
    assert FILES, f"no recorded histories under {HISTORIES}"
    versions = [p for p in HISTORIES.iterdir() if p.is_dir()]
    assert all(p.parent.parent == HISTORIES for p in FILES), "histories live in tests/histories/<version>/"
    for folder in versions:
        _version_key(folder)  # every folder is a version: X.Y.Z


@pytest.mark.parametrize("path", FILES, ids=_ident)
async def test_history_replays_with_the_current_code(path: Path):
    result = await _replayer(_converter(path)).replay_workflow(_load(path), raise_on_replay_failure=False)
    assert result.replay_failure is None, (
        f"{_ident(path)} no longer replays: {result.replay_failure!r}. A run in flight recorded by that "
        "version would break. Keep the old behaviour behind workflow.patched (or a format version in "
        "the run's input); never re-record the history.")


def test_the_newest_version_covers_every_required_case():
    newest = max((p for p in HISTORIES.iterdir() if p.is_dir()), key=_version_key)
    recorded = {p.stem for p in newest.glob("*.json")}
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
    assert record.main(["0.1.0", "no_such_case"]) == 2
