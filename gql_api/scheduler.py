"""Scheduled work: refits (every N hours each workspace is rescored with a
refit), re-evaluation of segments whose rules have time windows ("bought in
the last 30 days" changes as days pass with no new data), and the campaigns'
clock (`campaign_tick`: launches and ends due by their dates, customers who
entered a running campaign's segments joining it, reservations past their TTL
expiring).

Any number of server processes may run the schedules; a PostgreSQL advisory
lock per workspace and job makes sure only one of them does it at a time.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain import segment_membership
from domain.campaigns import lifecycle
from domain.campaigns.redemptions import expire_due
from domain.errors import DomainError
from domain.db import unit_of_work
from domain.scoring_pipeline import rescore_workspace
from domain.segment_rules import depends_on_time
from domain.tables import workspaces
from gql_api.ids import to_global_id

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


async def campaign_tick(engine: AsyncEngine) -> None:
    """Each step in a transaction of its own, so one campaign's refusal or
    failure leaves the others' work done. Moves and joins lock their campaign,
    so processes ticking at once do each move once."""
    async with unit_of_work(engine) as conn:
        moves = await lifecycle.due(conn)
    for workspace_id, campaign_id, move in moves:
        try:
            async with unit_of_work(engine, workspace_id) as conn:
                if move == "launch":
                    await lifecycle.launch(conn, workspace_id, campaign_id, to_global_id, "campaign started")
                else:
                    await lifecycle.move(conn, workspace_id, campaign_id, move)
            log.info("campaign %s of workspace %s: %s by its dates", campaign_id, workspace_id, move)
        except DomainError as exc:  # e.g. its moved state no longer allows it: the next tick sees the new state
            log.warning("campaign %s of workspace %s not moved (%s): %s", campaign_id, workspace_id, move, exc)
    async with unit_of_work(engine) as conn:
        live = await lifecycle.running(conn)
    for row in live:
        async with unit_of_work(engine, row.workspace_id) as conn:
            if await lifecycle.try_follow_lock(conn, row.id):
                await lifecycle.follow(conn, row, to_global_id)
    async with unit_of_work(engine) as conn:
        expired = await expire_due(conn)
    if expired:
        log.info("%s reservations expired", expired)


async def run_every(seconds: float, job, engine: AsyncEngine) -> None:
    """`job(engine)` forever, `seconds` apart; errors are logged and the schedule goes on."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await job(engine)
        except Exception:
            log.exception("scheduled %s failed; trying again next time", job.__name__)
