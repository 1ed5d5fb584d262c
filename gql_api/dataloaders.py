"""Per-request DataLoaders: each relation loads in one query per batch,
whatever the page size (`<Thing>By<Key>Loader`, values in key order)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from strawberry.dataloader import DataLoader

from domain.db import unit_of_work
from domain.tables import customer_scores


class Loaders:
    def __init__(self, engine: AsyncEngine, workspace_id: int):
        self.engine = engine
        self.workspace_id = workspace_id
        self.scores_by_customer = DataLoader(self._scores)

    async def _scores(self, ids: list[int]):
        async with unit_of_work(self.engine, self.workspace_id) as conn:
            rows = await conn.execute(select(customer_scores).where(
                customer_scores.c.workspace_id == self.workspace_id, customer_scores.c.customer_id.in_(ids)))
            found = {r.customer_id: r for r in rows}
        return [found.get(i) for i in ids]
