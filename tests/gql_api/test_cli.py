"""The `tribe` command as a user runs it: help, migrate, workspaces, keys, import, serve's schema check."""

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import make_url

from domain.migrate import head_revision

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def tribe(*args, database_url: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url}
    result = subprocess.run([sys.executable, "-m", "gql_api.cli", *args], env=env, capture_output=True, text=True,
                            timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"tribe {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result


@pytest.mark.parametrize("command", [[], ["serve"], ["migrate"], ["demo"], ["import"], ["keys"], ["keys", "create"],
                                     ["workspaces"]])
def test_every_command_explains_itself(command):
    result = subprocess.run([sys.executable, "-m", "gql_api.cli", *command, "--help"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and "usage: tribe" in result.stdout
    assert len(result.stdout.splitlines()) > 4


def test_serve_refuses_a_database_behind_the_schema(empty_database_url):
    result = tribe("serve", "--port", "1", database_url=empty_database_url, check=False)
    assert result.returncode != 0
    assert "run `tribe migrate`" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [["serve", "--port", "1"], ["migrate"], ["workspaces", "list"]])
def test_a_database_that_is_not_there_is_one_clear_line(empty_database_url, command):
    missing = make_url(empty_database_url).set(database="no_such_database").render_as_string(hide_password=False)
    result = tribe(*command, database_url=missing, check=False)
    assert result.returncode == 1
    assert "cannot connect to the database" in result.stderr and 'database "no_such_database" does not exist' \
        in result.stderr
    assert "Traceback" not in result.stderr


def test_a_users_session(empty_database_url, tmp_path):
    url = empty_database_url
    assert f"revision {head_revision()}" in tribe("migrate", database_url=url).stdout
    tribe("workspaces", "create", "shop", "--name", "My shop", database_url=url)
    duplicate = tribe("workspaces", "create", "shop", database_url=url, check=False)
    assert duplicate.returncode == 1 and "exists already" in duplicate.stderr

    created = tribe("keys", "create", "--workspace", "shop", "--role", "agent", database_url=url).stdout
    key = created.strip().splitlines()[-1]
    assert key.startswith("tribe_")
    listing = tribe("keys", "list", "--workspace", "shop", database_url=url).stdout
    assert "agent" in listing and key not in listing
    assert "revoked" in tribe("keys", "revoke", "--workspace", "shop", "1", database_url=url).stdout
    tribe("keys", "create", "--workspace", "shop", "--role", "integrator", "--contact-details", database_url=url)
    assert "integrator\tintegrator" in tribe("keys", "list", "--workspace", "shop", database_url=url).stdout
    assert "\tgranted" in tribe("keys", "list", "--workspace", "shop", database_url=url).stdout
    refused = tribe("keys", "create", "--workspace", "shop", "--role", "agent", "--contact-details", database_url=url,
                    check=False)
    assert refused.returncode == 1 and "only integrator keys" in refused.stderr

    secret = tribe("workspaces", "app-secret", "shop", database_url=url).stdout
    rotated = tribe("workspaces", "app-secret", "shop", "--rotate", database_url=url)
    assert "secret (base64url, HS256)" in secret and rotated.stdout != secret and "rotated" in rotated.stderr

    customers = tribe("import", "customers", str(EXAMPLES / "customers.csv"), "--workspace", "shop",
                      database_url=url).stdout
    assert "4 new" in customers
    bad = tmp_path / "bad.csv"
    bad.write_text("external_id,first_name,birth_date\nX-1,Sara,2020-02-31\nX-2,Reza,\n")
    result = tribe("import", "customers", str(bad), "--workspace", "shop", database_url=url, check=False)
    assert result.returncode == 1
    assert "line 2 (birth_date)" in result.stderr and "1 new" in result.stdout

    missing = tribe("import", "purchases", "nowhere.csv", "--workspace", "shop", database_url=url, check=False)
    assert missing.returncode == 1 and "no such file" in missing.stderr

    downgraded = tribe("migrate", "--downgrade", database_url=url).stdout
    assert "revision" in downgraded and head_revision() not in downgraded


def test_downgrading_an_empty_database_is_a_clear_error(empty_database_url):
    result = tribe("migrate", "--downgrade", database_url=empty_database_url, check=False)
    assert result.returncode == 1 and "no migrations to undo" in result.stderr and "Traceback" not in result.stderr


def test_demo_then_score(empty_database_url):
    url = empty_database_url
    tribe("migrate", database_url=url)
    demo = tribe("demo", "--customers", "500", "--workspace", "d", database_url=url).stdout
    assert "500 customers" in demo and "bgnbd_per_week" in demo
    configured = tribe("workspaces", "configure", "d", "--margin", "0.3", "--clusters", "4", database_url=url)
    assert "'margin': 0.3" in configured.stdout
    refused = tribe("workspaces", "configure", "d", "--monthly-discount-rate", "2", database_url=url, check=False)
    assert refused.returncode == 1 and "monthly_discount_rate: must be in [0, 1)" in refused.stderr
    scored = tribe("score", "--workspace", "d", database_url=url).stdout
    assert "d: 500 customers" in scored and "BG/NBD r=" in scored and "Gamma-Gamma p=" in scored
    again = tribe("demo", "--customers", "10", "--workspace", "d", database_url=url, check=False)
    assert again.returncode == 1 and "exists already" in again.stderr


async def test_a_quickstart_finishes_an_interrupted_first_run_and_keeps_one_key(empty_database_url, monkeypatch,
                                                                                capsys):
    """A first `make run` stopped after loading the demo store left it
    unscored, and the next run served it so (scores null, segments empty);
    each run also added another admin key."""
    from domain import migrate
    from domain.db import make_engine, unit_of_work
    from domain.tables import api_keys, campaigns, customer_scores, model_fits
    from gql_api import cli
    from sqlalchemy import func, select

    monkeypatch.setenv("DATABASE_URL", empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        await migrate.upgrade(engine)
        await cli.load_demo(engine, cli.DEMO_WORKSPACE, 300, seed=7, quiet=True)  # ... and then Ctrl-C
        args = argparse.Namespace(demo_customers=300)
        first = await cli._prepare_quickstart(args)
        said = capsys.readouterr().out
        assert "no scores (an earlier first run was interrupted)" in said and "a finished campaign" in said
        second = await cli._prepare_quickstart(args)
        assert "interrupted" not in capsys.readouterr().out and second != first
        async with unit_of_work(engine) as conn:
            assert await conn.scalar(select(func.count()).select_from(model_fits)
                                     .where(model_fits.c.model == "context")) == 1
            assert await conn.scalar(select(func.count()).select_from(customer_scores)) == 300
            assert await conn.scalar(select(func.count()).select_from(campaigns)) == 1
            live = await conn.scalar(select(func.count()).select_from(api_keys).where(
                api_keys.c.name == cli.QUICKSTART_KEY, api_keys.c.revoked_at.is_(None)))
        assert live == 1
    finally:
        await engine.dispose()


def test_the_first_scoring_on_a_machine_says_the_kernels_compile_once(monkeypatch, tmp_path, capsys):
    """After the demo bar, half a minute of compiling passed in silence."""
    from gql_api import cli

    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    cli._kernels_note()
    assert "one-time cost" in capsys.readouterr().out
    (tmp_path / "rfm._summary_kernel-73.py311.nbi").write_bytes(b"")
    cli._kernels_note()
    assert capsys.readouterr().out == ""
