"""Scheduled refits: every workspace rescored, one process at a time."""

from sqlalchemy import func, select, text

from domain.db import unit_of_work
from domain.demo import build_demo
from domain.tables import customer_scores, model_fits
from gql_api.scheduler import _LOCK_SPACE, refit_all
from tests.helpers import new_workspace


async def _fits(engine, workspace_id):
    async with unit_of_work(engine) as conn:
        return await conn.scalar(select(func.count()).where(model_fits.c.workspace_id == workspace_id))


async def test_refit_rescores_every_workspace_and_skips_one_being_rescored(engine):
    busy, free, empty = [await new_workspace(engine) for _ in range(3)]
    async with unit_of_work(engine) as conn:
        await build_demo(conn, busy.id, 300, seed=1)
        await build_demo(conn, free.id, 300, seed=2)
    async with engine.connect() as other_process:
        await other_process.execute(text("SELECT pg_advisory_lock(:s, :w)"), {"s": _LOCK_SPACE, "w": busy.id})
        await refit_all(engine)  # the empty workspace is skipped quietly
        await other_process.execute(text("SELECT pg_advisory_unlock(:s, :w)"), {"s": _LOCK_SPACE, "w": busy.id})
    assert await _fits(engine, busy.id) == 0
    assert await _fits(engine, free.id) == 4
    assert await _fits(engine, empty.id) == 0
    async with unit_of_work(engine) as conn:
        scored = await conn.scalar(select(func.count()).where(customer_scores.c.workspace_id == free.id))
    assert scored == 300
