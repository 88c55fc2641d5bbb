"""docker-compose.yml, validated by Debian's ``docker-compose config`` (no Docker engine runs here):
the services exist and the worker is wired to the server and to the environment, checked on the
parsed configuration; the setup service's script runs for real against a dev server; the Dockerfile
is read instruction by instruction.

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


@pytest.fixture
def bare_server(tmp_path):
    """A real dev server with no search attributes registered: what temporal-setup finds first."""
    from client.connection import embedded

    port = embedded.free_port()
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([embedded.temporal_binary(), "server", "start-dev", "--headless",
                                 "--ip", "127.0.0.1", "--port", str(port), "--log-level", "warn"],
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        embedded.wait_listening(port, 60, proc, log)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(20)


def keyword_attributes(address: str) -> set[str]:
    """The custom Keyword search attributes of the server's default namespace."""
    from client.connection import embedded

    listed = subprocess.run([embedded.temporal_binary(), "operator", "search-attribute", "list",
                             "--address", address, "--namespace", "default", "--output", "json"],
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    custom = json.loads(listed.stdout).get("customAttributes", {})
    return {name for name, kind in custom.items() if kind == "INDEXED_VALUE_TYPE_KEYWORD"}


def test_setup_registers_our_search_attributes_on_a_real_server(config, bare_server):
    """The temporal-setup service's own command, run by /bin/sh with the real Temporal CLI against
    a real server: it registers every attribute we use, and running it again (a restart) is fine."""
    from client.connection import embedded
    from client.connection.embedded import SEARCH_ATTRIBUTES

    setup = config["services"]["temporal-setup"]
    assert setup["entrypoint"] == ["/bin/sh", "-c"]
    assert setup["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert setup["depends_on"]["temporal"]["condition"] == "service_healthy"
    [script] = setup["command"]
    script = script.replace("$$", "$")  # `config` keeps Compose's escape; Compose unescapes it when it runs
    assert not set(SEARCH_ATTRIBUTES) & keyword_attributes(bare_server)
    cli_dir = str(Path(embedded.temporal_binary()).parent)
    env = {"PATH": f"{cli_dir}:/usr/bin:/bin", "TEMPORAL_ADDRESS": bare_server, "HOME": os.environ["HOME"]}
    for _ in range(2):  # registered, then already there
        done = subprocess.run(["/bin/sh", "-c", script], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert set(SEARCH_ATTRIBUTES) <= keyword_attributes(bare_server)


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of each instruction, comments and continuations handled."""
    steps, pending = [], ""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        pending += line.rstrip("\\").strip() + " "
        if not line.endswith("\\"):
            word, _, rest = pending.strip().partition(" ")
            steps.append((word.upper(), rest.strip()))
            pending = ""
    return steps


def test_dockerfile_installs_every_package_and_runs_the_worker_the_compose_file_runs(config):
    import tomllib

    steps = dockerfile()
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = [p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]]
    needed = {*packages, *(f"{m}.py" for m in pyproject["tool"]["setuptools"]["py-modules"]),
              "pyproject.toml", pyproject["project"]["readme"]}
    install = next(i for i, (word, args) in enumerate(steps) if word == "RUN" and "pip install" in args)
    assert steps[install][1].split()[-1] == "."
    copied = {src.rstrip("/").removeprefix("./") for word, args in steps[:install] if word == "COPY"
              for src in args.split()[:-1]}
    assert needed <= copied, f"not copied before pip install: {sorted(needed - copied)}"
    assert all((ROOT / path).exists() for path in copied)
    cmd = json.loads(dict(steps)["CMD"])
    assert cmd == ["refinire-flow", "worker", "--metrics-port", "9464"]
    worker = config["services"]["worker"]
    assert worker["command"][:4] == cmd
    assert dict(steps)["EXPOSE"] == "9464"
    assert worker["ports"] == [{"published": 9464, "target": 9464}]
