"""One real Temporal dev server per test session (free ports, temporary SQLite file).

Everything under test connects to it through TEMPORAL_ADDRESS, the same way a user points
``flow.run`` at a cluster, so the embedded default never touches the developer's own server.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from procs import dev_server  # noqa: E402

pytest_plugins = ["openai_server"]


def pytest_configure(config: pytest.Config) -> None:
    # A shell starts background jobs (a CI step, `cmd &`) with SIGINT ignored, and an ignored signal
    # stays ignored in every child: the processes the Ctrl-C tests interrupt need a terminal's.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def temporal_server(tmp_path_factory: pytest.TempPathFactory):
    with dev_server(tmp_path_factory.mktemp("temporal")) as server:
        yield server


@pytest.fixture(scope="session", autouse=True)
def temporal_env(temporal_server, tmp_path_factory):
    """Point every client in this process (and child processes) at the session's server."""
    saved = {k: os.environ.get(k) for k in ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "REFINIRE_DATA_DIR")}
    os.environ["TEMPORAL_ADDRESS"] = temporal_server["address"]
    os.environ["TEMPORAL_NAMESPACE"] = "default"
    os.environ["REFINIRE_DATA_DIR"] = str(tmp_path_factory.mktemp("refinire-data"))
    yield temporal_server
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture
async def client(temporal_env):
    from client.connection.connect import connect

    return await connect()
