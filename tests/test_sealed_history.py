"""Runs sealed at rest (``REFINIRE_PAYLOAD_KEY``) are read back like any other: the one history
reader decodes through the payload codec, so `rerun` and `replay` work on them, in a separate
process, with the key; without it they fail naming the key."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import uuid
from pathlib import Path

from temporalio.api.history.v1 import History

import procs
from client.connection.codec import ENCODING, KEY_ENV

FLOW = "flows.ops:pipeline"


def cli(args: list[str], **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "client", *args], cwd=procs.TESTS,
                          env=procs.env(**env), capture_output=True, text=True, timeout=120)


async def test_rerun_and_replay_read_a_sealed_run(tmp_path, client):
    ledger = tmp_path / "steps.log"
    key = base64.b64encode(os.urandom(32)).decode()
    sealed = {KEY_ENV: key, "REFINIRE_TEST_LOG": str(ledger)}
    old = f"sealed-{uuid.uuid4().hex[:8]}"

    ran = cli(["run", FLOW, "secret-input", "--id", old], **sealed)
    assert ran.returncode == 1, ran.stderr
    assert "ValueError: the fragile step is broken" in ran.stderr
    assert procs.lines(ledger) == ["fetch", "enrich", "fragile"]
    raw = History(events=(await client.get_workflow_handle(old).fetch_history()).events).SerializeToString()
    assert ENCODING in raw and b"secret-input" not in raw  # the server only has ciphertext

    replayed = cli(["replay", old], **sealed)
    assert replayed.returncode == 0, replayed.stderr
    assert f"ok    {old} ({FLOW})" in replayed.stdout
    assert "1 of 1 runs replay with the current code" in replayed.stdout

    without_key = cli(["rerun", old], REFINIRE_TEST_LOG=str(ledger), **{KEY_ENV: ""})
    assert without_key.returncode == 1
    assert without_key.stderr.startswith(f"error: Cannot read run {old!r}")
    assert KEY_ENV in without_key.stderr and "Traceback" not in without_key.stderr
    assert procs.lines(ledger) == ["fetch", "enrich", "fragile"]  # nothing ran

    Path(str(ledger) + ".fixed").touch()
    rerun = cli(["rerun", old], **sealed)
    assert rerun.returncode == 0, rerun.stderr
    new_id, result = rerun.stdout.splitlines()[-2:]
    assert result == "secret-input>fetch>enrich>fragile(fetched=True)>publish"
    assert f"rerun of {old} from step 'fragile': new run {new_id}" in rerun.stderr
    assert procs.lines(ledger) == ["fetch", "enrich", "fragile", "fragile", "publish"]  # from the failed step

    shown = cli(["show", new_id], **sealed)
    assert shown.returncode == 0, shown.stderr
    assert "publish" in shown.stdout and "completed" in shown.stdout.lower()
