"""Schema migrations: upgrade, downgrade and the check the server runs at start."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.db import MIGRATIONS_DIR


class SchemaOutOfDate(RuntimeError):
    pass


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(_config()).get_current_head()


async def _run(engine: AsyncEngine, action, *args) -> None:
    config = _config()

    def run(sync_conn) -> None:
        config.attributes["connection"] = sync_conn
        action(config, *args)

    async with engine.begin() as conn:
        await conn.run_sync(run)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    await _run(engine, command.upgrade, revision)


async def downgrade(engine: AsyncEngine, revision: str = "-1") -> None:
    await _run(engine, command.downgrade, revision)


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


async def require_latest(engine: AsyncEngine) -> None:
    """Refuse to run on a database behind (or ahead of) this code's schema."""
    current, head = await current_revision(engine), head_revision()
    if current != head:
        raise SchemaOutOfDate(
            f"the database schema is at revision {current or 'none'}, this version of Tribe needs {head}: "
            "run `tribe migrate` first"
        )
