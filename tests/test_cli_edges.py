"""Edges of ``refinire-flow`` a new user hits, each as a shell sees it: a real process against the
session's dev server, its exit status and the line a person reads."""

from __future__ import annotations

from test_exit_codes import cli, error, rid


def test_run_with_the_id_of_another_flows_run_exits_2_and_attaches_to_nothing():
    run_id = rid("edge-other")
    out = cli("run", "flows.ops:branchy", "hello", "--id", run_id)
    assert out.returncode == 0, out.stderr

    line = error(cli("run", "flows.ops:pipeline", "x", "--id", run_id), 2)
    assert f"Run {run_id!r} is a run of flow 'flows.ops:branchy', not of flow 'flows.ops:pipeline'" in line
    assert f"`refinire-flow watch {run_id}`" in line
    line = error(cli("run", "flows.ops:pipeline", "x", "--id", run_id, "--detach"), 2)
    assert "not of flow 'flows.ops:pipeline'" in line

    again = cli("run", "flows.ops:branchy", "hello", "--id", run_id)  # its own flow still attaches
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "long"
