"""The embedded PostgreSQL as a user meets it: data kept between runs, no server
left behind after a command exits, and a server orphaned by a crash adopted."""

import os
import subprocess
import sys

import psutil
import pytest


def _servers(pgdata) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        if proc.info["name"] == "postgres" and str(pgdata) in " ".join(proc.info["cmdline"] or []):
            found.append(proc)
    return found


@pytest.fixture
def home(tmp_path):
    os.chmod(tmp_path, 0o755)
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["TRIBE_HOME"] = str(tmp_path / "tribe")
    yield tmp_path / "tribe", env
    for proc in _servers(tmp_path):
        proc.kill()


def _tribe(env, *args):
    return subprocess.run([sys.executable, "-m", "gql_api.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_data_survives_and_no_server_is_left_running(home):
    folder, env = home
    assert _tribe(env, "migrate").returncode == 0
    assert _tribe(env, "workspaces", "create", "kept").returncode == 0
    assert _servers(folder) == []
    listed = _tribe(env, "workspaces", "list")
    assert listed.returncode == 0 and "kept" in listed.stdout
    assert _servers(folder) == []


def test_server_orphaned_by_a_crash_is_adopted_and_stopped(home):
    folder, env = home
    crash = ("import os, signal; from domain import embedded_pg; embedded_pg.start(); "
             "os.kill(os.getpid(), signal.SIGKILL)")
    subprocess.run([sys.executable, "-c", crash], env=env, timeout=120)
    assert _servers(folder), "the crashed process should have left its server running"
    result = _tribe(env, "migrate")
    assert result.returncode == 0, result.stderr
    assert _servers(folder) == []
