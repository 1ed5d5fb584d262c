"""Per-request DataLoaders: each relation loads in one query per batch,
whatever the page size (`<Thing>By<Key>Loader`, values in key order)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from functools import cached_property, partial
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.dataloader import DataLoader

from domain import history
from domain.campaigns.offers import offers_of
from domain.notes import latest_notes, notes_after
from domain.recording import with_items
from domain.scoring_pipeline import scores_of
from domain.segments import segment_sizes, segments_of

T = TypeVar("T")
R = TypeVar("R")


def when_loaded(pending: Awaitable[T], then: Callable[[T], R]) -> R | Awaitable[R]:
    """`then` of what a DataLoader's `load` gives: at once when the value is
    there already (primed, or loaded earlier in the request), else once it is.
    A resolver that returns a value instead of a coroutine spares graphql-core
    a task for its field: a customer profile's scores and notes, primed by its
    one statement, each cost a task and a gather."""
    if isinstance(pending, asyncio.Future) and pending.done() and not pending.cancelled() \
            and pending.exception() is None:
        return then(pending.result())
    return _then(pending, then)


async def _then(pending: Awaitable[T], then: Callable[[T], R]) -> R:
    return then(await pending)


def _loader(batch: str) -> cached_property:
    """A DataLoader over `_Batches.<batch>`, made when first used."""
    return cached_property(lambda loaders: DataLoader(getattr(loaders._batches, batch)))


class Loaders:
    """A request's DataLoaders, each made when first used."""

    def __init__(self, transaction: Callable[[], AbstractAsyncContextManager[AsyncConnection]], workspace_id: int):
        # The batches go to an object of their own: bound to the Loaders
        # holding the DataLoaders, they made a reference cycle that left every
        # request's loaders, and all they loaded, to the garbage collector.
        self._batches = _Batches(transaction, workspace_id)

    scores_by_customer = _loader("scores_by_customer")
    notes_by_customer = _loader("notes_by_customer")
    purchases_by_customer = _loader("purchases_by_customer")
    interactions_by_customer = _loader("interactions_by_customer")
    segment_size = _loader("segment_size")
    segments_by_customer = _loader("segments_by_customer")
    offers_by_campaign = _loader("offers_by_campaign")


class _Batches:
    """One query per batch of keys, values in key order."""

    def __init__(self, transaction: Callable[[], AbstractAsyncContextManager[AsyncConnection]], workspace_id: int):
        self.transaction = transaction
        self.workspace_id = workspace_id

    async def segment_size(self, ids: list[int]):
        async with self.transaction() as conn:
            found = await segment_sizes(conn, self.workspace_id, ids)
        return [found[i] for i in ids]

    async def segments_by_customer(self, ids: list[int]):
        async with self.transaction() as conn:
            found = await segments_of(conn, self.workspace_id, ids)
        return [found[i] for i in ids]

    async def offers_by_campaign(self, ids: list[int]):
        async with self.transaction() as conn:
            found = await offers_of(conn, self.workspace_id, ids)
        return [found[i] for i in ids]

    async def scores_by_customer(self, ids: list[int]):
        async with self.transaction() as conn:
            found = await scores_of(conn, self.workspace_id, ids)
        return [found.get(i) for i in ids]

    async def notes_by_customer(self, keys: list[tuple[int, int, tuple | None]]):
        return await self._pages(keys, latest_notes, notes_after)

    async def purchases_by_customer(self, keys: list[tuple[int, int, tuple | None]]):
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

    async def interactions_by_customer(self, keys: list[tuple[int, int, tuple | None]]):
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
