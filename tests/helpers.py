"""Shared test helpers: workspaces to test in."""

from __future__ import annotations

import uuid

from domain.db import unit_of_work
from domain.workspaces import Workspace, create_workspace


async def new_workspace(engine, prefix: str = "ws") -> Workspace:
    async with unit_of_work(engine) as conn:
        return await create_workspace(conn, f"{prefix}-{uuid.uuid4().hex[:8]}")
