"""Settings read from the environment are checked where they are read: a bad value is a
SettingError naming the variable, its value, what it may be and its default; the CLI exits 2 (bad
usage) with that line, a script ends with that error, and nothing else is blamed (a connection
that "failed", a bare ValueError from float())."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

import procs
from refinire.errors import SettingError
from client.connection import settings

REFINIRE_FLOW = str(Path(sys.executable).parent / "refinire-flow")

FLOW_MODULE = textwrap.dedent("""
    from refinire import Flow, FunctionStep

    def hello(data, ctx):
        return f"hello {data}"

    ok_flow = Flow(steps=[FunctionStep("hello", hello)], name="settings_ok")
""")

SCRIPT = textwrap.dedent("""
    import asyncio
    from settings_flows import ok_flow
    print("RESULT", asyncio.run(ok_flow.run("x")).value, flush=True)
""")


def cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    (tmp_path / "settings_flows.py").write_text(FLOW_MODULE)
    return subprocess.run([REFINIRE_FLOW, *args], cwd=tmp_path, env=procs.env(**env),
                          capture_output=True, text=True, timeout=120)


def script(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    (tmp_path / "settings_flows.py").write_text(FLOW_MODULE)
    (tmp_path / "s.py").write_text(SCRIPT)
    e = procs.env(**env)
    e["PYTHONPATH"] = f"{tmp_path}:{e['PYTHONPATH']}"
    return subprocess.run([sys.executable, "s.py"], cwd=tmp_path, env=e,
                          capture_output=True, text=True, timeout=120)


def last_line(out: subprocess.CompletedProcess) -> str:
    lines = out.stderr.strip().splitlines()
    assert lines, f"nothing on stderr (exit {out.returncode}); stdout: {out.stdout!r}"
    return lines[-1]


TIMEOUT_FIX = ("is not a number of seconds: set it to more than 0, up to 86400 (how long to wait "
               "for a Temporal server that does not answer), or unset it for the default 10.")
GRACE_FIX = ("is not a number of seconds: set it to 0 or more, up to 86400 (how long a stopping "
             "script's worker lets the steps it runs finish; 0 abandons them), or unset it for the "
             "default 30.")
LEVEL_FIX = ("is not a log level: set it to one of 'debug', 'info', 'warn', 'warning', 'error', "
             "or unset it for the default 'info'.")


def test_the_seconds_helper_takes_finite_seconds_in_range_and_names_the_variable(monkeypatch):
    monkeypatch.delenv("REFINIRE_T_S", raising=False)
    assert settings.seconds("REFINIRE_T_S", 7, meaning="m") == 7
    monkeypatch.setenv("REFINIRE_T_S", " 2.5 ")
    assert settings.seconds("REFINIRE_T_S", 7, meaning="m") == 2.5
    monkeypatch.setenv("REFINIRE_T_S", "0")
    assert settings.seconds("REFINIRE_T_S", 7, meaning="m", zero="stops at once") == 0
    for bad, zero in (("0", None), ("abc", None), ("-5", "z"), ("nan", "z"), ("inf", "z"), ("1e9", "z")):
        monkeypatch.setenv("REFINIRE_T_S", bad)
        with pytest.raises(SettingError) as err:
            settings.seconds("REFINIRE_T_S", 7, meaning="m", zero=zero)
        assert str(err.value).startswith(f"REFINIRE_T_S={bad!r} is not a number of seconds: set it to ")
        assert str(err.value).endswith("or unset it for the default 7.")
        assert err.value.config_key == "REFINIRE_T_S" and isinstance(err.value, ValueError)


def test_the_choice_helper_takes_one_of_the_choices_and_lists_them(monkeypatch):
    monkeypatch.setenv("REFINIRE_T_C", " Loud ")
    with pytest.raises(SettingError) as err:
        settings.choice("REFINIRE_T_C", "a", ["a", "b"], meaning="a volume")
    assert str(err.value) == ("REFINIRE_T_C='Loud' is not a volume: set it to one of 'a', 'b', or "
                              "unset it for the default 'a'.")
    monkeypatch.setenv("REFINIRE_T_C", "B")
    assert settings.choice("REFINIRE_T_C", "a", ["a", "b"], meaning="a volume") == "b"
    monkeypatch.setenv("REFINIRE_T_C", "")
    assert settings.choice("REFINIRE_T_C", "a", ["a", "b"], meaning="a volume") == "a"


@pytest.mark.parametrize("value", ["abc", "-5"])
@pytest.mark.parametrize("command", [["runs"], ["worker", "settings_flows"]])
def test_a_bad_connect_timeout_is_bad_usage_not_an_unreachable_server(tmp_path, value, command):
    out = cli(tmp_path, *command, REFINIRE_CONNECT_TIMEOUT=value)
    assert out.returncode == 2, out.stderr
    assert last_line(out) == f"error: REFINIRE_CONNECT_TIMEOUT={value!r} {TIMEOUT_FIX}"


def test_a_bad_embedded_port_is_bad_usage_for_every_command(tmp_path):
    env = {k: "" for k in ("TEMPORAL_ADDRESS", "TEMPORAL_PROFILE", "TEMPORAL_CONFIG_FILE")}
    out = cli(tmp_path, "runs", REFINIRE_EMBEDDED_PORT="72x33", REFINIRE_DATA_DIR=str(tmp_path), **env)
    assert out.returncode == 2, out.stderr
    assert last_line(out) == ("error: REFINIRE_EMBEDDED_PORT='72x33' is not a port: set it to a "
                              "number from 1 to 65535, or unset it for the default 7233.")


def test_a_bad_graceful_shutdown_is_bad_usage_and_starts_no_run(tmp_path):
    run_id = f"settings-{uuid.uuid4().hex[:8]}"
    out = cli(tmp_path, "run", "settings_flows:ok_flow", "x", "--id", run_id, REFINIRE_GRACEFUL_SHUTDOWN="abc")
    assert out.returncode == 2, out.stderr
    assert last_line(out) == f"error: REFINIRE_GRACEFUL_SHUTDOWN='abc' {GRACE_FIX}"
    shown = cli(tmp_path, "show", run_id)
    assert shown.returncode == 2, shown.stderr  # no such run: the setting was refused before the start


def test_a_bad_log_level_is_bad_usage_for_run_and_worker(tmp_path):
    out = cli(tmp_path, "run", "settings_flows:ok_flow", "x", REFINIRE_LOG_LEVEL="loud")
    assert out.returncode == 2, out.stderr
    assert last_line(out) == f"error: REFINIRE_LOG_LEVEL='loud' {LEVEL_FIX}"
    out = cli(tmp_path, "worker", "settings_flows", REFINIRE_LOG_LEVEL="loud")
    assert out.returncode == 2, out.stderr
    assert last_line(out) == f"error: REFINIRE_LOG_LEVEL='loud' {LEVEL_FIX}"


@pytest.mark.parametrize("name,value,fix", [
    ("REFINIRE_CONNECT_TIMEOUT", "abc", TIMEOUT_FIX),
    ("REFINIRE_GRACEFUL_SHUTDOWN", "abc", GRACE_FIX),
    ("REFINIRE_LOG_LEVEL", "loud", LEVEL_FIX),
])
def test_a_script_ends_with_the_setting_error(tmp_path, name, value, fix):
    out = script(tmp_path, **{name: value})
    assert out.returncode == 1, out.stderr
    assert "RESULT" not in out.stdout
    assert last_line(out) == f"refinire.errors.SettingError: {name}={value!r} {fix}"


def test_good_settings_run_as_before(tmp_path):
    out = script(tmp_path, REFINIRE_CONNECT_TIMEOUT="30", REFINIRE_GRACEFUL_SHUTDOWN="0",
                 REFINIRE_LOG_LEVEL="WARN")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "RESULT hello x"
