"""A customer's purchases and interactions, newest first, a page at a time: the
first page of many customers in one query (for a page of customers), later
pages of one customer by keyset."""

from __future__ import annotations

from datetime import datetime
from functools import cache

from sqlalchemy import Row, Select, bindparam, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.tables import interactions, purchases

# Each history: its table and the moment its rows are ordered by.
HISTORIES = {"purchases": (purchases, purchases.c.purchased_at),
             "interactions": (interactions, interactions.c.occurred_at)}


async def latest(conn: AsyncConnection, workspace_id: int, customer_ids: list[int], limit: int,
                 history: str) -> dict[int, list[Row]]:
    """Up to `limit` + 1 newest rows of each customer."""
    rows = await conn.execute(_latest(history), {"workspace_id": workspace_id, "customer_ids": customer_ids,
                                                 "last_position": limit + 1})
    found: dict[int, list[Row]] = {pk: [] for pk in customer_ids}
    for row in rows:
        found[row.customer_id].append(row)
    return found


@cache
def _latest(history: str) -> Select:
    # Made once: a subquery copies its table's columns and foreign keys, in
    # reference cycles that every page of customers left to the garbage collector.
    table, at = HISTORIES[history]
    position = func.row_number().over(partition_by=table.c.customer_id, order_by=(at.desc(), table.c.id.desc()))
    ranked = (select(table, position.label("position"))
              .where(table.c.workspace_id == bindparam("workspace_id"),
                     table.c.customer_id.in_(bindparam("customer_ids", expanding=True))).subquery())
    return (select(ranked).where(ranked.c.position <= bindparam("last_position"))
            .order_by(ranked.c.customer_id, ranked.c.position))


async def after(conn: AsyncConnection, workspace_id: int, customer_id: int, limit: int,
                position: tuple[datetime, int], history: str) -> list[Row]:
    """The next `limit` + 1 rows of one customer after (moment, id)."""
    table, at = HISTORIES[history]
    return list(await conn.execute(
        select(table).where(table.c.workspace_id == workspace_id, table.c.customer_id == customer_id,
                            tuple_(at, table.c.id) < tuple_(*position))
        .order_by(at.desc(), table.c.id.desc()).limit(limit + 1)))
