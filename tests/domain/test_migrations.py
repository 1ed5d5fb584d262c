"""Migrations: up, down and up again on an empty database, and no drift between
the table metadata in domain/tables.py and what the migrations build."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from domain import db, migrate
from domain.score_partitions import compared_by_alembic
from domain.tables import metadata


async def test_upgrade_downgrade_upgrade(empty_database_url):
    engine = db.make_engine(empty_database_url)
    try:
        assert await migrate.current_revision(engine) is None
        await migrate.upgrade(engine)
        assert await migrate.current_revision(engine) == migrate.head_revision()
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        assert set(metadata.tables) <= tables

        await migrate.downgrade(engine)  # the latest revision only
        previous = ScriptDirectory(migrate.MIGRATIONS_DIR.as_posix()).get_revision(migrate.head_revision()).down_revision
        assert await migrate.current_revision(engine) == previous

        await migrate.downgrade(engine, "base")
        async with engine.connect() as conn:
            left = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        assert left & set(metadata.tables) == set()

        await migrate.upgrade(engine)
        await migrate.require_latest(engine)
    finally:
        await engine.dispose()


async def test_behind_schema_is_refused_with_what_to_run(empty_database_url):
    engine = db.make_engine(empty_database_url)
    try:
        try:
            await migrate.require_latest(engine)
        except migrate.SchemaOutOfDate as exc:
            assert "tribe migrate" in str(exc)
        else:
            raise AssertionError("an empty database passed the schema check")
    finally:
        await engine.dispose()


async def test_migrations_match_table_metadata(engine):
    def diff(sync_conn):
        context = MigrationContext.configure(sync_conn, opts={"compare_type": True,
                                                              "include_name": compared_by_alembic})
        return compare_metadata(context, metadata)

    async with engine.connect() as conn:
        assert await conn.run_sync(diff) == []
