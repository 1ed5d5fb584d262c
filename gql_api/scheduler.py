"""Scheduled refits: every N hours each workspace is rescored with a refit.

Any number of server processes may run the schedule; a PostgreSQL advisory
lock per workspace makes sure only one of them rescores it at a time.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.scoring_pipeline import rescore_workspace
from domain.tables import workspaces

log = logging.getLogger("tribe.scheduler")
_LOCK_SPACE = 0x7472  # "tr": keeps these advisory locks apart from anyone else's


async def refit_all(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        ids = list(await conn.scalars(select(workspaces.c.id).order_by(workspaces.c.id)))
    for workspace_id in ids:
        async with engine.connect() as lock:
            held = await lock.scalar(text("SELECT pg_try_advisory_lock(:space, :w)"),
                                     {"space": _LOCK_SPACE, "w": workspace_id})
            if not held:
                continue  # another process is on it
            try:
                report = await rescore_workspace(engine, workspace_id, refit=True)
                log.info("rescored workspace %s: %s customers in %s", workspace_id, report.customers,
                         report.seconds)
            except ValueError as exc:  # too little data to fit: nothing to do yet
                log.info("workspace %s not rescored: %s", workspace_id, exc)
            finally:
                await lock.execute(text("SELECT pg_advisory_unlock(:space, :w)"),
                                   {"space": _LOCK_SPACE, "w": workspace_id})


async def run_every(engine: AsyncEngine, hours: float) -> None:
    """Refit forever, `hours` apart; errors are logged and the schedule goes on."""
    while True:
        await asyncio.sleep(hours * 3600)
        try:
            await refit_all(engine)
        except Exception:
            log.exception("scheduled refit failed; trying again next time")
