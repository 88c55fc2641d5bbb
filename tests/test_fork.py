"""A process forked from one that had used Temporal cannot use it (the SDK's runtime does not
survive fork): ``flow.run`` there says so and gives the fix (the 'spawn' start method), instead of
blaming the server's address."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import procs

SCRIPT = textwrap.dedent("""
    import asyncio, multiprocessing, sys
    from refinire import Flow, FunctionStep

    def hello(data, ctx):
        return f"hello {data}"

    flow = Flow(steps=[FunctionStep("hello", hello)], name="fork_hello")

    def job(i):
        return asyncio.run(flow.run(f"child{i}")).value

    if __name__ == "__main__":
        print("parent", asyncio.run(flow.run("p")).value, flush=True)
        with multiprocessing.get_context(sys.argv[1]).Pool(1) as pool:
            print("children", pool.map(job, range(2)), flush=True)
""")


def run(tmp_path, method: str) -> subprocess.CompletedProcess:
    (tmp_path / "forking.py").write_text(SCRIPT)
    return subprocess.run([sys.executable, "forking.py", method], cwd=tmp_path, env=procs.env(),
                          capture_output=True, text=True, timeout=180)


def test_flow_run_in_a_forked_child_names_the_fork_and_the_spawn_fix(tmp_path):
    out = run(tmp_path, "fork")
    assert out.returncode == 1, out.stderr
    assert out.stdout.splitlines() == ["parent hello p"]
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("refinire.errors.FlowExecutionError: Cannot use Temporal in process "), last
    assert ": it was forked from a process that had already used Temporal (process " in last
    assert last.endswith(
        "and the Temporal SDK cannot be used across fork. Start the processes that run flows with "
        "multiprocessing's 'spawn' start method: multiprocessing.get_context(\"spawn\").Pool(...) or "
        ".Process(...) (or as subprocesses), not 'fork'."), last
    assert "Cannot reach Temporal" not in out.stderr and "fix the address" not in out.stderr


def test_the_spawn_fix_works(tmp_path):
    out = run(tmp_path, "spawn")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["parent hello p", "children ['hello child0', 'hello child1']"]
