"""Workspaces (one business each) and their API keys.

A key is shown once, when created; only its SHA-256 is stored. Keys are 32
random bytes, so a fast hash is enough: there is nothing to brute-force.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.errors import DomainError, ErrorCode
from domain.score_model import ScoringConfig
from domain.score_partitions import create_partition
from domain.segments import ensure_builtin
from domain.tables import api_keys, workspaces
from domain.vocab import Role

KEY_PREFIX = "tribe_"
LAST_USED_RESOLUTION = timedelta(minutes=1)
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


@dataclass(frozen=True)
class Workspace:
    id: int
    slug: str
    name: str


@dataclass(frozen=True)
class ApiKey:
    id: int
    workspace_id: int
    name: str
    role: Role
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    # Granted to an INTEGRATOR key: it sees email and phone unmasked.
    contact_details: bool = False
    # Granted to an INTEGRATOR key: it reads staff's notes.
    notes: bool = False


def hash_key(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


async def create_workspace(conn: AsyncConnection, slug: str, name: str | None = None) -> Workspace:
    if not _SLUG.match(slug):
        raise DomainError(ErrorCode.INVALID, "slug", "a workspace slug is lower-case letters, digits and dashes")
    if await find_workspace(conn, slug) is not None:
        raise DomainError(ErrorCode.TAKEN, "slug", f"workspace {slug!r} exists already")
    row = (
        await conn.execute(
            insert(workspaces)
            .values(slug=slug, name=name or slug, app_token_secret=secrets.token_bytes(32))
            .returning(workspaces.c.id, workspaces.c.slug, workspaces.c.name)
        )
    ).one()
    await create_partition(conn, row.id)
    await ensure_builtin(conn, row.id)
    return Workspace(*row)


async def find_workspace(conn: AsyncConnection, slug: str) -> Workspace | None:
    row = (
        await conn.execute(
            select(workspaces.c.id, workspaces.c.slug, workspaces.c.name).where(workspaces.c.slug == slug)
        )
    ).one_or_none()
    return Workspace(*row) if row else None


async def workspace_by_id(conn: AsyncConnection, workspace_id: int) -> Workspace:
    row = (
        await conn.execute(
            select(workspaces.c.id, workspaces.c.slug, workspaces.c.name).where(workspaces.c.id == workspace_id)
        )
    ).one()
    return Workspace(*row)


async def configure_scoring(conn: AsyncConnection, slug: str, values: dict) -> dict:
    """Merge `values` into the workspace's scoring settings; returns them all."""
    workspace = await get_workspace(conn, slug)
    settings = await conn.scalar(select(workspaces.c.settings).where(workspaces.c.id == workspace.id)) or {}
    scoring = {**settings.get("scoring", {}), **values}
    for name, message in ScoringConfig.from_settings({"scoring": scoring}).problems():
        raise DomainError(ErrorCode.INVALID, name, message)
    await conn.execute(update(workspaces).where(workspaces.c.id == workspace.id)
                       .values(settings={**settings, "scoring": scoring}, updated_at=func.now()))
    return scoring


async def workspace_region(conn: AsyncConnection, workspace_id: int) -> str:
    """Where local phone numbers are read from (ISO country code)."""
    return await conn.scalar(select(workspaces.c.default_region).where(workspaces.c.id == workspace_id))


async def workspace_currency(conn: AsyncConnection, workspace_id: int) -> str:
    return await conn.scalar(select(workspaces.c.currency).where(workspaces.c.id == workspace_id))


async def get_workspace(conn: AsyncConnection, slug: str) -> Workspace:
    workspace = await find_workspace(conn, slug)
    if workspace is None:
        raise DomainError(ErrorCode.NOT_FOUND, "workspace", f"no workspace {slug!r}")
    return workspace


async def create_key(conn: AsyncConnection, workspace_id: int, role: Role, name: str = "",
                     contact_details: bool = False, notes: bool = False) -> tuple[str, ApiKey]:
    """Returns the key itself (to show once) and its stored record. Only an
    INTEGRATOR key takes the `contact_details` and `notes` grants: the other
    roles see contact details and notes, or not, by their role."""
    for grant, given in (("contact details", contact_details), ("notes", notes)):
        if given and role is not Role.INTEGRATOR:
            raise DomainError(ErrorCode.INVALID, grant.replace(" ", "_"),
                              f"only integrator keys take the {grant} grant; {role.value} keys see them by role")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    prefix = key[: len(KEY_PREFIX) + 6]
    row = (
        await conn.execute(
            insert(api_keys)
            .values(workspace_id=workspace_id, role=role.value, name=name or role.value, prefix=prefix,
                    key_hash=hash_key(key), contact_details=contact_details, notes=notes)
            .returning(*_KEY_COLUMNS)
        )
    ).one()
    return key, _api_key(row)


async def list_keys(conn: AsyncConnection, workspace_id: int) -> list[ApiKey]:
    rows = await conn.execute(
        select(*_KEY_COLUMNS).where(api_keys.c.workspace_id == workspace_id).order_by(api_keys.c.id)
    )
    return [_api_key(r) for r in rows]


async def revoke_key(conn: AsyncConnection, workspace_id: int, key_id: int) -> ApiKey:
    row = (
        await conn.execute(
            update(api_keys)
            .where(api_keys.c.workspace_id == workspace_id, api_keys.c.id == key_id)
            .values(revoked_at=func.coalesce(api_keys.c.revoked_at, func.now()))
            .returning(*_KEY_COLUMNS)
        )
    ).one_or_none()
    if row is None:
        raise DomainError(ErrorCode.NOT_FOUND, "id", f"no key {key_id} in this workspace")
    return _api_key(row)


async def authenticate(conn: AsyncConnection, key: str) -> ApiKey | None:
    """The live key behind `key`, or None. `last_used_at` is refreshed at most
    once a minute, so authenticating is a read, not a write per request."""
    if not key.startswith(KEY_PREFIX):
        return None
    row = (await conn.execute(select(*_KEY_COLUMNS).where(api_keys.c.key_hash == hash_key(key),
                                                          api_keys.c.revoked_at.is_(None)))).one_or_none()
    if row is None:
        return None
    stale = row.last_used_at is None or row.last_used_at < datetime.now(UTC) - LAST_USED_RESOLUTION
    if stale:
        await conn.execute(update(api_keys).where(api_keys.c.id == row.id).values(last_used_at=func.now()))
    return _api_key(row)


_KEY_COLUMNS = (
    api_keys.c.id,
    api_keys.c.workspace_id,
    api_keys.c.name,
    api_keys.c.role,
    api_keys.c.prefix,
    api_keys.c.created_at,
    api_keys.c.last_used_at,
    api_keys.c.revoked_at,
    api_keys.c.contact_details,
    api_keys.c.notes,
)


def _api_key(row) -> ApiKey:
    return ApiKey(row.id, row.workspace_id, row.name, Role(row.role), row.prefix, row.created_at,
                  row.last_used_at, row.revoked_at, row.contact_details, row.notes)
