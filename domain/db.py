"""Connections: which database, the engine, and the unit of work.

`DATABASE_URL` (any PostgreSQL 14+, libpq or SQLAlchemy form) wins; without it
the embedded PostgreSQL is started. Every unit of work is one transaction with
the workspace set for row-level security.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from domain import embedded_pg

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def libpq_url() -> str:
    """The database to use, as a plain postgresql:// URL."""
    return os.environ.get("DATABASE_URL") or embedded_pg.start()


def sqlalchemy_url(url: str) -> str:
    """postgresql:// (or postgres://, or +psycopg) URL as SQLAlchemy's asyncpg form."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def make_engine(url: str | None = None, **kwargs) -> AsyncEngine:
    # A request takes a few short transactions (authentication, resolvers,
    # dataloaders), some at once: with SQLAlchemy's default pool of 5, 10
    # concurrent requests opened and closed connections all the time.
    kwargs = {"pool_size": 20, "max_overflow": 10, **kwargs}
    return create_async_engine(sqlalchemy_url(url or libpq_url()), pool_pre_ping=False, **kwargs)


# The role API transactions run as: row-level security shows it one workspace.
TENANT_ROLE = "tribe_api"


@asynccontextmanager
async def unit_of_work(engine: AsyncEngine, workspace_id: int | None = None) -> AsyncIterator[AsyncConnection]:
    """One transaction as the schema owner (CLI, pipeline); `workspace_id` is
    recorded for code that reads it, but the owner sees every workspace."""
    async with engine.begin() as conn:
        if workspace_id is not None:
            await set_workspace(conn, workspace_id)
        yield conn


@asynccontextmanager
async def tenant_transaction(engine: AsyncEngine, workspace_id: int,
                             read_only: bool = False) -> AsyncIterator[AsyncConnection]:
    """One transaction that PostgreSQL itself confines to one workspace: it runs
    as the tenant role, under row-level security (the second wall, behind the
    workspace filters every query already has)."""
    async with engine.connect() as conn:
        if read_only:
            await conn.execution_options(postgresql_readonly=True)
        async with conn.begin():
            # SET LOCAL ROLE and the workspace in one round trip.
            await conn.execute(_BECOME_TENANT, {"role": TENANT_ROLE, "w": str(workspace_id)})
            yield conn


_BECOME_TENANT = text("SELECT set_config('role', :role, true), set_config('tribe.workspace_id', :w, true)")


async def set_workspace(conn: AsyncConnection, workspace_id: int) -> None:
    await conn.execute(text("SELECT set_config('tribe.workspace_id', :w, true)"), {"w": str(workspace_id)})


async def raw_connection(conn: AsyncConnection):
    """The asyncpg connection under a SQLAlchemy one, for COPY."""
    raw = await conn.get_raw_connection()
    return raw.driver_connection


async def after_bulk_load(conn: AsyncConnection, tables: list[str]) -> None:
    """Fold the tables' GIN pending lists into their indexes and ANALYZE them.
    Until autovacuum gets to it, the planner takes a freshly filled table for a
    small one and its pending GIN entries for a reason not to use the index: a
    search then scanned the whole workspace (100 ms instead of 5 over 20,000
    customers)."""
    await conn.execute(text(
        "SELECT gin_clean_pending_list(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'gin' AND i.indrelid = ANY(CAST(:tables AS regclass[]))"),
        {"tables": tables})
    await conn.execute(text(f"ANALYZE {', '.join(tables)}"))
