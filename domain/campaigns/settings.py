"""A workspace's campaign settings: its time zone (campaigns' default, and
where a day of a per-day offer limit begins), its global control group, and
its customer-type policies (domain/campaigns/policies.py), kept in the
workspace row (`time_zone`, `settings["campaigns"]`)."""

from __future__ import annotations

import secrets
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.errors import DomainError, ErrorCode
from domain.tables import workspaces


def valid_time_zone(name: str, field: str = "timeZone") -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DomainError(ErrorCode.INVALID, field, f"{name!r} is not an IANA time zone (e.g. Asia/Tehran)") from None
    return name


async def campaign_settings(conn: AsyncConnection, workspace_id: int) -> dict:
    settings = await conn.scalar(select(workspaces.c.settings).where(workspaces.c.id == workspace_id)) or {}
    return settings.get("campaigns", {})


async def change_campaign_settings(conn: AsyncConnection, workspace_id: int, **values) -> dict:
    """Merge `values` into the campaign settings (the row locked, so two
    changes at once do not lose one another)."""
    settings = await conn.scalar(select(workspaces.c.settings).where(workspaces.c.id == workspace_id)
                                 .with_for_update()) or {}
    merged = {**settings.get("campaigns", {}), **values}
    await conn.execute(update(workspaces).where(workspaces.c.id == workspace_id)
                       .values(settings={**settings, "campaigns": merged}, updated_at=func.now()))
    return merged


async def workspace_time_zone(conn: AsyncConnection, workspace_id: int) -> str:
    return await conn.scalar(select(workspaces.c.time_zone).where(workspaces.c.id == workspace_id))


async def set_workspace_time_zone(conn: AsyncConnection, workspace_id: int, name: str) -> str:
    await conn.execute(update(workspaces).where(workspaces.c.id == workspace_id)
                       .values(time_zone=valid_time_zone(name), updated_at=func.now()))
    return name


async def control_group_salt(conn: AsyncConnection, workspace_id: int) -> str | None:
    """The salt every campaign's holdout split uses when the workspace keeps a
    global control group (the same customers held out of every campaign);
    None: each campaign splits by its own id."""
    return (await campaign_settings(conn, workspace_id)).get("controlGroupSalt")


async def set_global_control_group(conn: AsyncConnection, workspace_id: int, enabled: bool) -> str | None:
    """Turn the global control group on (a new salt, kept from then on) or off.
    Campaigns already launched keep the salt they were split with."""
    current = await control_group_salt(conn, workspace_id)
    if enabled and current is None:
        current = f"control-{workspace_id}-{secrets.token_hex(8)}:"
    elif not enabled:
        current = None
    await change_campaign_settings(conn, workspace_id, controlGroupSalt=current)
    return current
