"""A real PostgreSQL for the tests: DATABASE_URL's server when set (any
PostgreSQL 14+; the URL's database is only used to connect), otherwise an
embedded PostgreSQL in a temporary folder. One database is migrated once as a
template; each test module gets a fresh clone of it (CREATE DATABASE ...
TEMPLATE is a file copy, far faster than migrating again)."""

from __future__ import annotations

import os
import uuid

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from domain import db, embedded_pg, migrate
from domain.webhook_targets import ALLOW_PRIVATE

# The tests' webhook receivers listen on loopback, which production refuses
# (domain/webhook_targets.py); the test of that refusal turns it back on.
os.environ[ALLOW_PRIVATE] = "1"


def _with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def server_url():
    if url := os.environ.get("DATABASE_URL"):
        yield url
        return
    with embedded_pg.throwaway() as url:
        yield url


async def _admin(server_url: str, sql: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(server_url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def template_database(server_url):
    name = f"tribe_template_{uuid.uuid4().hex[:8]}"
    await _admin(server_url, f'CREATE DATABASE "{name}"')
    engine = db.make_engine(_with_database(server_url, name))
    await migrate.upgrade(engine)
    await engine.dispose()
    yield name
    await _admin(server_url, f'DROP DATABASE "{name}" WITH (FORCE)')


async def fresh_database(server_url: str, template: str | None) -> str:
    name = f"tribe_test_{uuid.uuid4().hex[:10]}"
    clause = f' TEMPLATE "{template}"' if template else ""
    await _admin(server_url, f'CREATE DATABASE "{name}"{clause}')
    return name


@pytest.fixture(scope="module")
async def database_url(server_url, template_database):
    """A migrated database of this module's own."""
    name = await fresh_database(server_url, template_database)
    yield _with_database(server_url, name)
    await _admin(server_url, f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
async def engine(database_url):
    engine = db.make_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def empty_database_url(server_url):
    """A database with no schema at all, for migration tests."""
    name = await fresh_database(server_url, None)
    yield _with_database(server_url, name)
    await _admin(server_url, f'DROP DATABASE "{name}" WITH (FORCE)')
