"""The layers point one way (DESIGN.md): import-linter's contracts in pyproject.toml, checked by
`lint-imports` in a subprocess as CI runs it. A new import that breaks a layer, makes a cycle or
reaches into another package's private module fails here, naming the import chain."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_import_contracts_are_kept():
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    assert {c["type"] for c in contracts} == {"layers", "forbidden", "private_modules", "acyclic_siblings"}
    lint = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Contracts: {len(contracts)} kept, 0 broken." in done.stdout


def test_a_broken_layer_fails_the_check(tmp_path):
    """The check can fail: the same contracts over a copy where refinire imports the client."""
    for package in ("refinire", "workflows", "activities", "client"):
        subprocess.run(["cp", "-r", str(ROOT / package), str(tmp_path / package)], check=True)
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    spec = tmp_path / "refinire" / "spec.py"
    spec.write_text(spec.read_text() + "\nfrom client.running import start  # noqa\n")
    lint = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run([str(lint), "--no-cache"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 1, done.stdout + done.stderr
    assert "refinire.spec -> client.running" in done.stdout and "BROKEN" in done.stdout
