"""Alembic environment. Runs on the connection `domain.migrate` hands over, or,
from the `alembic` command line, on the database `domain.db` resolves."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.pool import NullPool

from domain.db import make_engine
from domain.score_partitions import compared_by_alembic
from domain.tables import metadata

config = context.config


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True,
                      include_name=compared_by_alembic, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_on_own_engine() -> None:
    engine = make_engine(poolclass=NullPool)
    async with engine.connect() as conn:
        await conn.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url="postgresql://", target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (connection := config.attributes.get("connection")) is not None:
    _run(connection)
else:
    asyncio.run(_run_on_own_engine())
