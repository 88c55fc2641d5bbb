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


FAKE_KEY = "sk-reliability-FAKE-9f8e7d6c5b4a"
"""A recognisable fake OPENAI_API_KEY: the secrets tests fail if it shows up in any history."""


@pytest.fixture
def model(llm, monkeypatch):
    """The scripted OpenAI server (tests/openai_server.py), with FAKE_KEY for every worker started."""
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    return llm
