"""Workspaces at the table level: a row can only point inside its workspace,
external ids are unique per workspace only, and reads are scoped."""

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from domain.customers import customer_page, customers_by_id, search_customers
from domain.db import set_workspace, unit_of_work
from domain.tables import customers, interactions, notes, purchases, segment_memberships, segments
from tests.helpers import new_workspace


async def _customer(conn, workspace_id, external_id, first_name="Sara"):
    return await conn.scalar(insert(customers).values(workspace_id=workspace_id, external_id=external_id,
                                                      first_name=first_name, search_text=first_name.lower())
                             .returning(customers.c.id))


async def test_same_external_id_in_two_workspaces_but_not_twice_in_one(engine):
    a, b = await new_workspace(engine), await new_workspace(engine)
    async with unit_of_work(engine) as conn:
        await _customer(conn, a.id, "X-1")
        await _customer(conn, b.id, "X-1")
    with pytest.raises(IntegrityError):
        async with unit_of_work(engine) as conn:
            await _customer(conn, a.id, "X-1")


@pytest.mark.parametrize(
    ("table", "values"),
    [
        (notes, {"author": "x", "body": "hello"}),
        (purchases, {"purchased_at": "2026-01-01", "total": 1, "currency": "IRR"}),
        (interactions, {"kind": "complaint", "occurred_at": "2026-01-01"}),
    ],
)
async def test_rows_cannot_point_at_another_workspaces_customer(engine, table, values):
    from datetime import datetime

    a, b = await new_workspace(engine), await new_workspace(engine)
    async with unit_of_work(engine) as conn:
        theirs = await _customer(conn, b.id, "B-1")
    typed = {k: datetime.fromisoformat(v) if k.endswith("_at") else v for k, v in values.items()}
    with pytest.raises(IntegrityError):
        async with unit_of_work(engine) as conn:
            await conn.execute(insert(table).values(workspace_id=a.id, customer_id=theirs, **typed))


async def test_segment_membership_cannot_cross_workspaces(engine):
    a, b = await new_workspace(engine), await new_workspace(engine)
    async with unit_of_work(engine) as conn:
        segment = await conn.scalar(insert(segments).values(workspace_id=a.id, key="k", name="n", kind="manual")
                                    .returning(segments.c.id))
        theirs = await _customer(conn, b.id, "B-1")
    with pytest.raises(IntegrityError):
        async with unit_of_work(engine) as conn:
            await conn.execute(insert(segment_memberships).values(workspace_id=a.id, segment_id=segment,
                                                                  customer_id=theirs))


async def test_reads_see_only_their_workspace(engine):
    a, b = await new_workspace(engine), await new_workspace(engine)
    async with unit_of_work(engine) as conn:
        mine = await _customer(conn, a.id, "A-1", "Sara")
        theirs = await _customer(conn, b.id, "B-1", "Sara")
        assert set(await customers_by_id(conn, a.id, [mine, theirs])) == {mine}
        assert [r.id for r in await customer_page(conn, a.id, 10, None)] == [mine]
        await set_workspace(conn, a.id)  # search reads the transaction's workspace (migration 0008)
        assert [r.id for r in await search_customers(conn, a.id, "sara", 10)] == [mine]
        await set_workspace(conn, b.id)  # ...and finds nothing for any other
        assert await search_customers(conn, a.id, "sara", 10) == []
        assert (await conn.execute(select(customers.c.id).where(customers.c.id == theirs))).one()
