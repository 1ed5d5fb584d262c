"""Row-level security: inside a tenant transaction PostgreSQL itself shows,
changes and accepts only the rows of that transaction's workspace, whatever the
SQL asks for."""

import pytest
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError

from domain.customers import CustomerFilter, visible_customers
from domain.db import make_read_engine, tenant_reads, tenant_transaction, unit_of_work
from domain.score_partitions import partition_name
from domain.tables import api_keys, customer_scores, customers, notes, workspaces
from domain.vocab import Role
from domain.workspaces import create_key
from tests.helpers import new_workspace


@pytest.fixture(scope="module")
async def two(engine):
    a, b = await new_workspace(engine), await new_workspace(engine)
    ids = {}
    async with unit_of_work(engine) as conn:
        for ws in (a, b):
            ids[ws.id] = await conn.scalar(insert(customers).values(workspace_id=ws.id, first_name="x")
                                           .returning(customers.c.id))
            await conn.execute(insert(notes).values(workspace_id=ws.id, customer_id=ids[ws.id], author="s",
                                                    body="secret"))
            await create_key(conn, ws.id, Role.AGENT)
    return a, b, ids


async def test_reads_see_only_the_transactions_workspace(engine, two):
    a, b, ids = two
    async with tenant_transaction(engine, a.id) as conn:
        # no WHERE on workspace at all: the database filters
        seen = set(await conn.scalars(select(customers.c.id)))
        assert seen == {ids[a.id]}
        assert await conn.scalar(select(func.count()).select_from(notes)) == 1
        assert set(await conn.scalars(select(api_keys.c.workspace_id))) == {a.id}
        assert set(await conn.scalars(select(workspaces.c.id))) == {a.id}
        assert await conn.scalar(select(customers.c.id).where(customers.c.id == ids[b.id])) is None


async def test_the_read_engines_pooled_connection_follows_each_users_workspace(engine, two):
    a, b, ids = two
    reads = make_read_engine(engine.url, pool_size=1, max_overflow=0)  # one connection, reused by all
    try:
        for ws in (a, b, b, a):
            async with tenant_reads(reads, ws.id) as conn:
                assert set(await conn.scalars(select(customers.c.id))) == {ids[ws.id]}
                assert await conn.scalar(text("SELECT current_user")) == "tribe_api"
                with pytest.raises(DBAPIError, match="read-only transaction"):
                    await conn.execute(update(customers).values(first_name="hacked"))
        # A SET that never completed: the connection is not taken to be in any workspace.
        async with reads.connect() as conn:
            conn.info.pop("tribe.workspace_id")
            await conn.execute(text("SELECT set_config('tribe.workspace_id', :w, false)"), {"w": str(b.id)})
        async with tenant_reads(reads, a.id) as conn:
            assert set(await conn.scalars(select(customers.c.id))) == {ids[a.id]}
    finally:
        await reads.dispose()


async def test_writes_cannot_reach_or_create_another_workspaces_rows(engine, two):
    a, b, ids = two
    async with tenant_transaction(engine, a.id) as conn:
        changed = await conn.execute(update(customers).where(customers.c.id == ids[b.id]).values(first_name="hacked"))
        assert changed.rowcount == 0
        deleted = await conn.execute(text("DELETE FROM notes WHERE customer_id = :c"), {"c": ids[b.id]})
        assert deleted.rowcount == 0
    with pytest.raises(DBAPIError, match="row-level security"):
        async with tenant_transaction(engine, a.id) as conn:
            await conn.execute(insert(customers).values(workspace_id=b.id, first_name="planted"))
    async with unit_of_work(engine) as conn:
        names = set(await conn.scalars(select(customers.c.first_name).where(customers.c.workspace_id == b.id)))
    assert names == {"x"}


async def test_a_forged_or_missing_workspace_setting_shows_nothing(engine, two):
    async with engine.begin() as conn:
        await conn.execute(text("SET LOCAL ROLE tribe_api"))
        assert await conn.scalar(select(func.count()).select_from(customers)) == 0
        await conn.execute(text("SELECT set_config('tribe.workspace_id', '', true)"))
        assert await conn.scalar(select(func.count()).select_from(customers)) == 0


async def test_the_api_role_reaches_score_partitions_only_through_customer_scores(engine, two):
    """A workspace's scores live in a partition of their own (customer_scores_w<id>),
    rebuilt by each full rescoring; the API role has no privilege on it."""
    a, b, ids = two
    async with unit_of_work(engine) as conn:
        for ws in (a, b):
            await conn.execute(insert(customer_scores).values(workspace_id=ws.id, customer_id=ids[ws.id],
                                                              purchase_count=0, frequency=0, recency=0, tenure=0,
                                                              monetary=0, total_spend=0))
    async with tenant_transaction(engine, a.id) as conn:
        assert set(await conn.scalars(select(customer_scores.c.customer_id))) == {ids[a.id]}
    with pytest.raises(DBAPIError, match="permission denied"):
        async with tenant_transaction(engine, a.id) as conn:
            await conn.execute(text(f"SELECT * FROM {partition_name(b.id)}"))


async def test_joins_to_scores_read_the_workspaces_partition_alone(engine, two):
    """Where row-level security does not confine a caller (the schema owner's
    jobs), the join itself keeps to the workspace's partition."""
    a, b, ids = two
    async with unit_of_work(engine) as conn:
        for ws in (a, b):
            await conn.execute(pg_insert(customer_scores).values(
                workspace_id=ws.id, customer_id=ids[ws.id], purchase_count=0, frequency=0, recency=0, tenure=0,
                monetary=0, total_spend=0).on_conflict_do_nothing())
        statement = visible_customers(a.id, CustomerFilter(clv=(0.0, None)), [func.count()])
        plan = "\n".join(await conn.scalars(text("EXPLAIN " + str(statement.compile(
            dialect=conn.dialect, compile_kwargs={"literal_binds": True})))))
    assert partition_name(a.id) in plan and partition_name(b.id) not in plan
