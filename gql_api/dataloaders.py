"""Per-request DataLoaders: each relation loads in one query per batch,
whatever the page size (`<Thing>By<Key>Loader`, values in key order)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from functools import partial

from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.dataloader import DataLoader

from domain import history
from domain.notes import latest_notes, notes_after
from domain.recording import with_items
from domain.scoring_pipeline import scores_of
from domain.segments import segment_sizes, segments_of


class Loaders:
    def __init__(self, transaction: Callable[[], AbstractAsyncContextManager[AsyncConnection]], workspace_id: int):
        self.transaction = transaction
        self.workspace_id = workspace_id
        self.scores_by_customer = DataLoader(self._scores)
        self.notes_by_customer = DataLoader(self._notes)
        self.purchases_by_customer = DataLoader(self._purchases)
        self.interactions_by_customer = DataLoader(self._interactions)
        self.segment_size = DataLoader(self._segment_sizes)
        self.segments_by_customer = DataLoader(self._segments_of)

    async def _segment_sizes(self, ids: list[int]):
        async with self.transaction() as conn:
            found = await segment_sizes(conn, self.workspace_id, ids)
        return [found[i] for i in ids]

    async def _segments_of(self, ids: list[int]):
        async with self.transaction() as conn:
            found = await segments_of(conn, self.workspace_id, ids)
        return [found[i] for i in ids]

    async def _scores(self, ids: list[int]):
        async with self.transaction() as conn:
            found = await scores_of(conn, self.workspace_id, ids)
        return [found.get(i) for i in ids]

    async def _notes(self, keys: list[tuple[int, int, tuple | None]]):
        return await self._pages(keys, latest_notes, notes_after)

    async def _purchases(self, keys: list[tuple[int, int, tuple | None]]):
        """Pages of purchases, each a list of Recorded (the row and its items)."""
        async def first_pages(conn, workspace_id, customers, size):
            pages = await history.latest(conn, workspace_id, customers, size, "purchases")
            complete = await with_items(conn, workspace_id, [r for rows in pages.values() for r in rows])
            return {pk: [complete[r.id] for r in rows] for pk, rows in pages.items()}

        async def later_page(conn, workspace_id, customer, size, after):
            rows = await history.after(conn, workspace_id, customer, size, after, "purchases")
            complete = await with_items(conn, workspace_id, rows)
            return [complete[r.id] for r in rows]

        return await self._pages(keys, first_pages, later_page)

    async def _interactions(self, keys: list[tuple[int, int, tuple | None]]):
        return await self._pages(keys, partial(history.latest, history="interactions"),
                                 partial(history.after, history="interactions"))

    async def _pages(self, keys: list[tuple[int, int, tuple | None]], first_pages, later_page):
        """Keys are (customer, page size, keyset position or None). First pages
        of any number of customers load in one query per page size; later pages
        (one customer paging on) one query each."""
        found: dict = {}
        async with self.transaction() as conn:
            for size in {size for _, size, after in keys if after is None}:
                customers = [pk for pk, s, after in keys if s == size and after is None]
                for pk, rows in (await first_pages(conn, self.workspace_id, customers, size)).items():
                    found[(pk, size, None)] = rows
            for key in keys:
                pk, size, after = key
                if after is not None:
                    found[key] = await later_page(conn, self.workspace_id, pk, size, after)
        return [found[key] for key in keys]
