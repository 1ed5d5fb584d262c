"""Scheduled work: refits (every N hours each workspace is rescored with a
refit) and re-evaluation of segments whose rules have time windows ("bought in
the last 30 days" changes as days pass with no new data).

Any number of server processes may run the schedules; a PostgreSQL advisory
lock per workspace and job makes sure only one of them does it at a time.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain import segment_membership
from domain.db import unit_of_work
from domain.scoring_pipeline import rescore_workspace
from domain.segment_rules import depends_on_time
from domain.tables import workspaces

log = logging.getLogger("tribe.scheduler")
_LOCK_SPACE = 0x7472  # "tr": keeps these advisory locks apart from anyone else's


async def _each_workspace(engine: AsyncEngine, space: int, work) -> None:
    """`work(workspace_id)` for every workspace no other process is working on."""
    async with engine.connect() as conn:
        ids = list(await conn.scalars(select(workspaces.c.id).order_by(workspaces.c.id)))
    for workspace_id in ids:
        async with engine.connect() as lock:
            held = await lock.scalar(text("SELECT pg_try_advisory_lock(:space, :w)"),
                                     {"space": space, "w": workspace_id})
            if not held:
                continue  # another process is on it
            try:
                await work(workspace_id)
            finally:
                await lock.execute(text("SELECT pg_advisory_unlock(:space, :w)"), {"space": space, "w": workspace_id})


async def refit_all(engine: AsyncEngine) -> None:
    async def refit(workspace_id: int) -> None:
        try:
            report = await rescore_workspace(engine, workspace_id, refit=True)
            log.info("rescored workspace %s: %s customers in %s", workspace_id, report.customers, report.seconds)
        except ValueError as exc:  # too little data to fit: nothing to do yet
            log.info("workspace %s not rescored: %s", workspace_id, exc)
    await _each_workspace(engine, _LOCK_SPACE, refit)


async def refresh_time_windows(engine: AsyncEngine) -> None:
    async def refresh(workspace_id: int) -> None:
        async with unit_of_work(engine, workspace_id) as conn:
            found = await segment_membership.rule_segments(conn, workspace_id)
            timed = {s.id for s in found if depends_on_time(s.rule)}
            if timed:
                changed = await segment_membership.sync(conn, workspace_id, "time passed", segment_ids=timed)
                log.info("workspace %s: %s segment changes as time passed", workspace_id, changed)
    await _each_workspace(engine, _LOCK_SPACE + 1, refresh)


async def run_every(seconds: float, job, engine: AsyncEngine) -> None:
    """`job(engine)` forever, `seconds` apart; errors are logged and the schedule goes on."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await job(engine)
        except Exception:
            log.exception("scheduled %s failed; trying again next time", job.__name__)
