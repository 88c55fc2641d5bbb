"""docker-compose.yml, validated by Debian's ``docker-compose config`` (no Docker engine runs here):
the services exist and the worker is wired to the server and to the environment.

Needs the ``docker-compose`` apt package (``apt-get install docker-compose``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def config() -> dict:
    binary = shutil.which("docker-compose")
    assert binary, "docker-compose is missing: apt-get install docker-compose (Debian package)"
    env = {**os.environ, "OPENAI_API_KEY": "sk-compose-test", "REFINIRE_FLOW_MODULES": "examples.demo"}
    done = subprocess.run([binary, "config"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    # docker-compose is Python with PyYAML: its own interpreter turns the resolved file into JSON.
    interpreter = Path(binary).read_text().splitlines()[0].removeprefix("#!").split()
    to_json = subprocess.run([*interpreter, "-c", "import json,sys,yaml; print(json.dumps(yaml.safe_load(sys.stdin)))"],
                             input=done.stdout, capture_output=True, text=True, timeout=60)
    assert to_json.returncode == 0, to_json.stderr
    return json.loads(to_json.stdout)


def test_services_are_all_there(config):
    assert set(config["services"]) == {"postgresql", "temporal", "temporal-setup", "temporal-ui", "worker"}


def test_temporal_runs_on_postgres_with_its_schema_set_up(config):
    temporal = config["services"]["temporal"]
    assert temporal["image"].startswith("temporalio/auto-setup:")
    env = temporal["environment"]
    assert env["DB"] == "postgres12" and env["POSTGRES_SEEDS"] == "postgresql"
    assert env["POSTGRES_PWD"] == config["services"]["postgresql"]["environment"]["POSTGRES_PASSWORD"]
    assert temporal["depends_on"]["postgresql"]["condition"] == "service_healthy"


def test_ui_and_worker_point_at_the_server(config):
    services = config["services"]
    assert services["temporal-ui"]["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"
    worker = services["worker"]
    env = worker["environment"]
    assert env["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert env["OPENAI_API_KEY"] == "sk-compose-test"
    assert env["REFINIRE_FLOW_MODULES"] == "examples.demo"
    assert worker["command"][:2] == ["refinire-flow", "worker"]
    assert Path(worker["build"]["context"]).resolve() == ROOT
    assert worker["depends_on"]["temporal-setup"]["condition"] == "service_completed_successfully"


def test_setup_registers_our_search_attributes(config):
    from client.connection.embedded import SEARCH_ATTRIBUTES

    command = " ".join(config["services"]["temporal-setup"]["command"])
    assert "search-attribute create" in command
    assert all(name in command for name in SEARCH_ATTRIBUTES)


def test_dockerfile_installs_the_package_and_runs_the_worker():
    text = (ROOT / "Dockerfile").read_text()
    assert "pip install" in text and 'CMD ["refinire-flow", "worker"' in text
    for copied in ("refinire", "workflows", "activities", "client", "worker.py", "pyproject.toml"):
        assert copied in text
