"""Fixtures of the reliability suite (tests/conftest.py provides the session's Temporal server)."""

from __future__ import annotations

import pytest


@pytest.fixture
def ledger(tmp_path, monkeypatch):
    path = tmp_path / "ledger.txt"
    monkeypatch.setenv("REFINIRE_TEST_LEDGER", str(path))
    return path


@pytest.fixture
def workers():
    """Worker subprocesses a test starts; whatever is left is stopped at the end."""
    import procs

    started = []
    yield started
    for proc in started:
        procs.stop(proc)
