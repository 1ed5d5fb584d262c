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

import asyncpg
from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DisconnectionError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from domain import embedded_pg, unique_keys

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
    # (A pool class of the caller's own, such as the migrations' NullPool, takes no sizes.)
    if "poolclass" not in kwargs:
        kwargs = {"pool_size": 20, "max_overflow": 10, **kwargs}
    kwargs.setdefault("connect_args", {"server_settings": {"application_name": "tribe"}})
    return _discarding_closed(create_async_engine(sqlalchemy_url(url or libpq_url()), pool_pre_ping=False, **kwargs))


# SQLSTATEs of a server going away or not taking connections yet: admin
# shutdown, crash shutdown, cannot connect now (starting up, shutting down).
_UNAVAILABLE_STATES = {"57P01", "57P02", "57P03"}


def is_unavailable(exc: BaseException | None) -> bool:
    """Whether `exc` (or what caused it) says the database cannot be reached
    right now, as opposed to a fault of the statement: the connection refused
    or closed under it, the server shutting down or starting up."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (OSError, DisconnectionError, asyncpg.exceptions.ConnectionDoesNotExistError)):
            return True
        if getattr(exc, "connection_invalidated", False) or getattr(exc, "sqlstate", None) in _UNAVAILABLE_STATES:
            return True
        if isinstance(exc, asyncpg.exceptions.InterfaceError) and "connection is closed" in str(exc):
            return True
        exc = getattr(exc, "orig", None) or exc.__cause__ or exc.__context__  # SQLAlchemy keeps the driver's in .orig
    return False


def _discarding_closed(engine: AsyncEngine) -> AsyncEngine:
    """A pooled connection the server has closed (a restart, a terminated
    backend) is never handed out again: at checkout, asyncpg already knows
    from the socket whether its connection is closed, so the pool swaps it for
    a new one at no round trip's cost. Queries read through asyncpg directly
    (domain/direct_reads.py), where SQLAlchemy does not see a disconnect and
    invalidate the pool, so without this a closed connection went back to the
    pool and failed every request it served, for good."""
    def check(dbapi_connection, _record, _proxy) -> None:
        if dbapi_connection.driver_connection.is_closed():
            raise DisconnectionError("the server closed this connection")
    event.listen(engine.sync_engine.pool, "checkout", check)
    return engine


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
    try:
        async with engine.connect() as conn:
            if read_only:
                await conn.execution_options(postgresql_readonly=True)
            async with conn.begin():
                # SET LOCAL ROLE and the workspace in one round trip.
                await conn.execute(_BECOME_TENANT, {"role": TENANT_ROLE, "w": str(workspace_id)})
                yield conn
    except IntegrityError as exc:  # rolled back already; a second writer of one new key gets the first's answer
        error = unique_keys.taken(exc)
        if error is None:
            raise
        raise error from exc


_BECOME_TENANT = text("SELECT set_config('role', :role, true), set_config('tribe.workspace_id', :w, true)")


def make_read_engine(url: str | URL, **kwargs) -> AsyncEngine:
    """Connections for the API's queries, which only read. Each statement is a
    read-only transaction of its own (autocommit), run as the tenant role from
    the start of the session (no SET LOCAL ROLE), so a query pays neither BEGIN
    nor COMMIT nor the tenant setting: those were three of the six round trips
    of a customer by id with its scores and notes. Under READ COMMITTED each
    statement of a transaction took a snapshot of its own anyway, so a query
    sees what it saw before. See `tenant_reads` for the workspace.

    A query holds one connection, so ten are plenty for two cores; more
    concurrent queries wait their turn. With "overflow" connections beyond
    the ten, 50 clients kept opening and closing them (a PostgreSQL process
    each): 708 requests/s instead of 832-936, and a p99 of 116 ms instead of
    22-30 at 450 requests/s."""
    kwargs = {"pool_size": 10, "max_overflow": 0, **kwargs}
    settings = {"role": TENANT_ROLE, "default_transaction_read_only": "on", "application_name": "tribe-read"}
    return _discarding_closed(create_async_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=False,
                                                  connect_args={"server_settings": settings}, **kwargs))


@asynccontextmanager
async def tenant_reads(read_engine: AsyncEngine, workspace_id: int) -> AsyncIterator[AsyncConnection]:
    """A connection of `make_read_engine` that row-level security confines to
    one workspace. The workspace is a session setting, set again only when the
    connection last served another workspace."""
    async with read_engine.connect() as conn:
        if conn.info.get(_SESSION_WORKSPACE) != workspace_id:
            # Forgotten first: should the SET be interrupted, the next user sets it again.
            conn.info.pop(_SESSION_WORKSPACE, None)
            await conn.execute(_SET_SESSION_WORKSPACE, {"w": str(workspace_id)})
            conn.info[_SESSION_WORKSPACE] = workspace_id
        yield conn


_SESSION_WORKSPACE = "tribe.workspace_id"  # the key in the pooled connection's info (cleared on reconnect)
_SET_SESSION_WORKSPACE = text("SELECT set_config('tribe.workspace_id', :w, false)")


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
