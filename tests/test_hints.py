"""Every command the product prints works when run as printed, from the script's folder.

A flow has one durable name however it is started: ``python myjob.py``, ``refinire-flow run
myjob:flow`` or ``worker.py myjob`` all call an unnamed module-level flow ``myjob:flow``, and a run
of a flow with an explicit ``name=`` records where its code is.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

import procs

SCRIPT = '''
import asyncio
import sys
from pathlib import Path

from refinire import Flow, FunctionStep


def fragile(data, ctx):
    if not Path("fixed").exists():
        raise ValueError("not fixed yet")
    return f"{data} ok"


def build(**name):
    return Flow(steps=[FunctionStep("prep", lambda d, c: d + "!"), FunctionStep("fragile", fragile, retry=1)],
                **name)


named = build(name="hint_named_flow")
plain = build()


async def main(which):
    flow = named if which == "named" else plain
    print("NAME", flow.durable_name, flush=True)
    await flow.run("x")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
'''


def _env() -> dict[str, str]:
    env = procs.env()
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.pop("REFINIRE_TEST_LOG", None)
    return env


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("which", ["named", "plain"])
def test_the_hints_a_failed_script_prints_work_as_printed(which, tmp_path):
    (tmp_path / "myjob.py").write_text(SCRIPT)
    failed = _run([sys.executable, "myjob.py", which], tmp_path)
    assert failed.returncode == 1, failed.stderr
    name = failed.stdout.split()[1]
    assert name == ("hint_named_flow" if which == "named" else "myjob:plain")
    hints = re.findall(r"`(refinire-flow [^`]+)`", failed.stderr)
    assert any(h.startswith("refinire-flow rerun ") for h in hints), failed.stderr
    assert any(h.startswith("refinire-flow show ") for h in hints), failed.stderr

    (tmp_path / "fixed").touch()
    for hint in hints:
        out = _run(shlex.split(hint), tmp_path)
        assert out.returncode == 0, (hint, out.stdout, out.stderr)
        if hint.startswith("refinire-flow rerun "):
            assert out.stdout.splitlines()[-1] == "x! ok"
        else:
            assert "fragile" in out.stdout
    run_id = re.search(r"refinire-flow show (\S+)", " ".join(hints)).group(1)
    replay = _run(["refinire-flow", "replay", run_id], tmp_path)
    assert replay.returncode == 0, replay.stdout + replay.stderr


def test_a_script_flow_has_the_name_the_cli_and_the_worker_give_it(tmp_path):
    (tmp_path / "myjob.py").write_text(SCRIPT)
    (tmp_path / "fixed").touch()
    by_script = _run([sys.executable, "myjob.py", "plain"], tmp_path)
    assert by_script.returncode == 0, by_script.stderr
    by_cli = _run(["refinire-flow", "run", "myjob:plain", "x"], tmp_path)
    assert by_cli.returncode == 0, by_cli.stderr
    assert by_cli.stdout.splitlines()[-1] == "x! ok"
    from client.serving.worker import flows_in_modules

    sys.path.insert(0, str(tmp_path))
    try:
        served = flows_in_modules(["myjob"])
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("myjob", None)
    assert sorted(served) == ["hint_named_flow", "myjob:plain"]
    assert by_script.stdout.split()[1] == "myjob:plain"


async def test_a_run_started_under_an_earlier_name_is_finished_when_attached_to(client):
    """Unnamed flows were ``<variable>-<hash>`` before 0.2.0: a script restarted with the new
    version attaches to its run by id and serves the run's own task queue."""
    from client.running.start import start_run
    from refinire import Flow, FunctionStep

    flow = Flow(steps=[FunctionStep("shout", lambda d, c: d.upper())], name="hint_renamed_flow")
    run_id = f"hint-legacy-{os.getpid()}"
    await start_run(client, "renamed_flow-0123456789ab", flow, "late", None, run_id)
    result = await flow.run(run_id=run_id)
    assert result == "LATE" and result.run_id == run_id


def test_a_script_that_runs_on_import_gets_told_how_to_fix_it(tmp_path):
    (tmp_path / "unguarded.py").write_text(
        "import asyncio\nfrom refinire import Flow, FunctionStep\n"
        "flow = Flow(steps=[FunctionStep('bad', lambda d, c: int(d))])\n"
        "async def main():\n    await flow.run('x')\n"
        "asyncio.run(main())\n")
    failed = _run([sys.executable, "unguarded.py"], tmp_path)
    assert failed.returncode == 1
    hint = re.search(r"`(refinire-flow rerun [^`]+)`", failed.stderr).group(1)
    out = _run(shlex.split(hint), tmp_path)
    assert out.returncode == 2
    assert 'put `asyncio.run(main())` under `if __name__ == "__main__":`' in out.stderr
    served = _run([str(Path(sys.executable).parent / "refinire-flow"), "worker", "unguarded"], tmp_path)
    assert served.returncode == 2 and "serving" not in served.stdout  # the worker runs no flow either
    assert 'put `asyncio.run(main())` under `if __name__ == "__main__":`' in served.stderr
