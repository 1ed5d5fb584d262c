"""The per-request context: who is asking (API key) and how to reach the database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.requests import Request
from starlette.websockets import WebSocket

from domain.db import tenant_transaction
from domain.vocab import Role
from domain.workspaces import ApiKey
from gql_api.dataloaders import Loaders
from gql_api.hub import Hub


@dataclass
class Context:
    engine: AsyncEngine
    api_key: ApiKey | None
    hub: Hub | None = None
    request: Request | WebSocket | None = None
    # What a WebSocket client sent in connection_init (strawberry fills it in).
    connection_params: dict | None = None
    dev: bool = False

    @property
    def schema_open(self) -> bool:
        """Whether introspection and "Did you mean" hints are on: in development
        mode, and for ADMIN keys (the key may arrive late, in connection_init)."""
        return self.dev or (self.api_key is not None and self.api_key.role is Role.ADMIN)

    @cached_property
    def loaders(self) -> Loaders:
        assert self.api_key is not None, "resolvers behind IsAuthenticated only"
        return Loaders(self.engine, self.api_key.workspace_id)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """One transaction confined to the caller's workspace (row-level security)."""
        assert self.api_key is not None, "resolvers behind IsAuthenticated only"
        async with tenant_transaction(self.engine, self.api_key.workspace_id) as conn:
            yield conn
