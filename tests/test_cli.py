"""The CLI, in-process, against the session's dev server: run, rerun, runs, show, replay, answer,
cancel, and what the Temporal UI shows for a run."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import pytest

from client.operations import cli
from flows import ops

FLOW = "flows.ops:pipeline"


@pytest.fixture
def log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "steps.log"
    monkeypatch.setenv("REFINIRE_TEST_LOG", str(path))
    return path


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def rid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def until(predicate, what: str, deadline_s: float = 20.0):
    end = time.monotonic() + deadline_s
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("command", ["server", "worker", "run", "runs", "show", "replay", "rerun",
                                     "answer", "cancel", "search-attributes", "codec-server"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main([command, "--help"])
    assert exit_.value.code == 0
    assert f"refinire-flow {command}" in capsys.readouterr().out


async def test_errors_are_one_line_and_non_zero(capsys):
    assert await cli.amain(["run", "flows.nowhere:flow"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Cannot import module 'flows.nowhere'") and err.count("\n") == 1
    assert await cli.amain(["run", "flows.ops:nothing"]) == 2
    err = capsys.readouterr().err
    assert "has no flow 'nothing'" in err and "'pipeline'" in err and "Traceback" not in err
    assert await cli.amain(["rerun", "no-such-run"]) == 2
    assert capsys.readouterr().err.startswith("error: No run 'no-such-run' in namespace 'default'")


async def test_failed_run_names_step_and_rerun_skips_earlier_steps(log, client, capsys):
    old = rid("pipe")
    assert await cli.amain(["run", FLOW, "x", "--id", old]) == 1
    err = capsys.readouterr().err
    assert "'fragile'" in err and "ValueError: the fragile step is broken" in err
    assert lines(log) == ["fetch", "enrich", "fragile"]

    Path(str(log) + ".fixed").touch()
    assert await cli.amain(["rerun", old]) == 0
    new_id, result = capsys.readouterr().out.splitlines()[-2:]
    assert result == "x>fetch>enrich>fragile(fetched=True)>publish"
    assert lines(log) == ["fetch", "enrich", "fragile", "fragile", "publish"]

    desc = await client.get_workflow_handle(new_id).describe()
    memo = await desc.memo()
    assert {k: memo[k] for k in ("rerun_of", "rerun_from")} == {"rerun_of": old, "rerun_from": "fragile"}
    assert set(memo) == {"rerun_of", "rerun_from"}  # run_started: written when a run continues as new
    assert f"rerun of {old} from step fragile" in (await desc.static_summary() or "")
    old_desc = await client.get_workflow_handle(old).describe()
    assert old_desc.status.name == "FAILED"

    assert await cli.amain(["rerun", new_id, "--from", "enrich"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "x>fetch>enrich>fragile(fetched=True)>publish"
    assert lines(log)[5:] == ["enrich", "fragile", "publish"]

    assert await cli.amain(["rerun", new_id, "--from", "nowhere"]) == 2
    assert "no step 'nowhere'" in capsys.readouterr().err
    assert await cli.amain(["rerun", new_id]) == 2
    assert "Name one with --from" in capsys.readouterr().err


async def test_runs_filters_by_flow_and_status(log, capsys):
    failed, done = rid("pipe-f"), rid("pipe-ok")
    assert await cli.amain(["run", FLOW, "a", "--id", failed]) == 1
    Path(str(log) + ".fixed").touch()
    assert await cli.amain(["run", FLOW, "b", "--id", done]) == 0
    capsys.readouterr()

    async def listed(status: str, wanted: str) -> str | None:
        assert await cli.amain(["runs", "--flow", FLOW, "--status", status, "--limit", "50"]) == 0
        out = capsys.readouterr().out
        return out if wanted in out else None

    out = await until(lambda: listed("failed", failed), "the failed run in visibility")
    assert done not in out
    row = next(line for line in out.splitlines() if line.startswith(failed))
    assert row.split()[1:4] == [FLOW, "failed", "fragile"]
    out = await until(lambda: listed("completed", done), "the completed run in visibility")
    assert failed not in out
    assert out.splitlines()[0].split() == ["RUN", "ID", "FLOW", "STATUS", "STEP", "STARTED", "DURATION"]


async def test_show_run_and_flow_structure(log, capsys):
    Path(str(log) + ".fixed").touch()
    run_id = rid("pipe-show")
    assert await cli.amain(["run", FLOW, "s", "--id", run_id]) == 0
    capsys.readouterr()
    assert await cli.amain(["show", run_id]) == 0
    text = capsys.readouterr().out
    assert all(step in text for step in ("fetch", "enrich", "fragile", "publish"))
    assert await cli.amain(["show", "flows.ops:branchy", "--format", "mermaid"]) == 0
    mermaid = capsys.readouterr().out
    assert "check" in mermaid and "long" in mermaid and "short" in mermaid


async def test_replay_flags_a_changed_condition(client, monkeypatch, capsys):
    run_id = rid("branchy")
    assert await cli.amain(["run", "flows.ops:branchy", "hello", "--id", run_id]) == 0
    assert capsys.readouterr().out.strip() == "long"
    assert await cli.amain(["replay", run_id]) == 0
    assert f"ok    {run_id}" in capsys.readouterr().out

    monkeypatch.setattr(ops, "LIMIT", 10)
    assert await cli.amain(["replay", run_id]) == 1
    err = capsys.readouterr().err
    assert f"FAIL  {run_id}" in err and "at step 'check'" in err
    assert "decided 'True'" in err and "now decides 'False'" in err

    async def by_flow() -> str | None:
        code = await cli.amain(["replay", "--flow", "flows.ops:branchy", "--limit", "5"])
        err = capsys.readouterr().err
        return err if code == 1 and run_id in err else None

    await until(by_flow, "replay --flow to list the run")


async def test_replay_flags_a_step_missing_from_the_code(monkeypatch, capsys):
    from refinire import ConditionStep, Flow, FunctionStep

    run_id = rid("branchy")
    assert await cli.amain(["run", "flows.ops:branchy", "hello", "--id", run_id]) == 0
    capsys.readouterr()
    without_long = Flow(start="measure", steps={
        "measure": FunctionStep("measure", ops.measure, next_step="check"),
        "check": ConditionStep("check", ops.is_long, "longer", "short"),
        "longer": FunctionStep("longer", ops.long_text),
        "short": FunctionStep("short", ops.short_text),
    })
    monkeypatch.setattr(ops, "branchy", without_long)
    try:
        assert await cli.amain(["replay", run_id]) == 1
        err = capsys.readouterr().err
        assert "at step 'long'" in err and "no longer has" in err
    finally:
        monkeypatch.undo()
        ops.branchy.register()


async def test_answer_reaches_a_waiting_run_and_cancel_stops_one(client, capsys):
    from workflows.waits import PendingQuestion

    async def question(run_id: str):
        try:
            return await client.get_workflow_handle(run_id).query(
                "pending_question", result_type=PendingQuestion | None)
        except Exception:
            return None

    run_id = rid("asking")
    task = asyncio.create_task(cli.amain(["run", "flows.ops:asking", "--id", run_id]))
    pending = await until(lambda: question(run_id), "the run to ask")
    assert pending.question == "Your name?"
    assert await cli.amain(["runs", "--status", "running", "--limit", "50"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if run_id in line)
    assert " ask " in row  # a waiting run is findable at its step (FlowStep, FlowStatus=Waiting)
    attrs = (await client.get_workflow_handle(run_id).describe()).typed_search_attributes
    values = {p.key.name: p.value for p in attrs}
    assert (values["FlowStatus"], values["FlowStep"]) == ("Waiting", "ask")
    assert " waiting " in row  # the table says what the run does: wait for an answer

    async def listed_waiting():
        assert await cli.amain(["runs", "--status", "waiting", "--limit", "50"]) == 0
        return run_id in capsys.readouterr().out

    await until(listed_waiting, "runs --status waiting to list the run")
    assert await cli.amain(["answer", run_id, "Ada"]) == 0
    assert await task == 0
    out = capsys.readouterr().out
    assert "answered step 'ask'" in out and "hello Ada" in out
    values = {p.key.name: p.value for p in (await client.get_workflow_handle(run_id).describe()).typed_search_attributes}
    assert "FlowStatus" not in values and "FlowStep" not in values  # the answered wait unset them
    assert await cli.amain(["answer", run_id, "again"]) == 2
    assert capsys.readouterr().err.startswith("error: ")

    other = rid("asking")
    task = asyncio.create_task(cli.amain(["run", "flows.ops:asking", "--id", other]))
    await until(lambda: question(other), "the run to ask")
    assert await cli.amain(["cancel", other]) == 0
    assert await task == 1
    assert "cancel" in capsys.readouterr().err.lower()
    from temporalio.client import WorkflowExecutionStatus

    desc = await client.get_workflow_handle(other).describe()
    assert desc.status == WorkflowExecutionStatus.CANCELED


async def test_the_temporal_ui_reads_like_the_flow(log, client, capsys):
    from temporalio.api.enums.v1 import EventType

    from workflows.search import FLOW_NAME, FLOW_STATUS, FLOW_STEP

    Path(str(log) + ".fixed").touch()
    run_id = rid("pipe-ui")
    assert await cli.amain(["run", FLOW, "ui-input", "--id", run_id]) == 0
    handle = client.get_workflow_handle(run_id)
    desc = await handle.describe()
    summary = await desc.static_summary()
    assert FLOW in summary and "ui-input" in summary
    assert desc.workflow_type == FLOW  # the UI's list names the flow of every run
    # The UI renders details as Markdown, without Mermaid: the flow is drawn as text in a code block.
    assert await desc.static_details() == "```\nfetch → enrich → fragile → publish → END\n```"
    attrs = desc.typed_search_attributes
    # A completed run is found by its execution status; FlowStatus and FlowStep mark only runs that
    # wait, failed or were cancelled (format 4: nothing is upserted when a run completes).
    assert (attrs.get(FLOW_NAME), attrs.get(FLOW_STATUS), attrs.get(FLOW_STEP)) == (FLOW, None, None)
    upserts = [e async for e in handle.fetch_history_events()
               if e.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES]
    assert upserts == []
    summaries = []
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            summaries.append(json.loads(event.user_metadata.summary.data))
    assert summaries == ["fetch", "enrich", "fragile", "publish"]


async def test_rerun_and_replay_of_local_activity_steps(log, capsys):
    """Local activities record no input: the context comes from the previous step's output."""
    old = rid("local")
    assert await cli.amain(["run", "flows.ops:pipeline_local", "L", "--id", old]) == 1
    assert "the fragile step is broken" in capsys.readouterr().err
    assert await cli.amain(["replay", old]) == 0
    Path(str(log) + ".fixed").touch()
    assert await cli.amain(["rerun", old]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "L>fetch>enrich>fragile(fetched=True)>publish"
    assert lines(log) == ["fetch", "enrich", "fragile", "fragile", "publish"]


async def test_runs_shows_the_step_a_running_run_is_in(client, tmp_path, monkeypatch, capsys):
    from client.running.start import start_run
    from flows import durable
    from client.serving.worker import build_worker

    monkeypatch.setenv("REFINIRE_TEST_LEDGER", str(tmp_path / "ledger"))
    flow = durable.crash_flow
    async with build_worker(client, flow):
        handle = await start_run(client, flow.durable_name, flow, "x", None, rid("held"))
        ledger = tmp_path / "ledger"

        async def started() -> bool:
            return ledger.exists() and "slow:start" in ledger.read_text()

        await until(started, "the slow step to start")
        assert await cli.amain(["runs", "--flow", flow.durable_name, "--status", "running"]) == 0
        row = next(line for line in capsys.readouterr().out.splitlines() if handle.id in line)
        assert " running " in row and " slow " in row
        (tmp_path / "ledger.release").touch()
        assert (await handle.result()).output == "x+first+slow+last"


async def test_runs_says_when_its_list_is_cut(log, capsys):
    Path(str(log) + ".fixed").touch()
    for _ in range(2):
        assert await cli.amain(["run", FLOW, "cut", "--id", rid("cut")]) == 0
    capsys.readouterr()
    assert await cli.amain(["runs", "--flow", "flows.ops:pipeline", "--limit", "1"]) == 0
    out, err = capsys.readouterr()
    assert len([line for line in out.splitlines() if "flows.ops:pipeline" in line]) == 1
    assert "showing the newest 1 runs; more exist: --limit N or --all shows them" in err
    assert await cli.amain(["runs", "--flow", "flows.ops:pipeline", "--all"]) == 0
    out, err = capsys.readouterr()
    assert len([line for line in out.splitlines() if "flows.ops:pipeline" in line]) >= 2 and not err
