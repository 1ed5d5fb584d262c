"""The per-request context: who is asking (API key) and how to reach the database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
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
from gql_api.http_guards import RateLimiter
from gql_api.query_connection import SharedReads


@dataclass
class Context:
    engine: AsyncEngine
    api_key: ApiKey | None
    hub: Hub | None = None
    request: Request | WebSocket | None = None
    # What a WebSocket client sent in connection_init (strawberry fills it in).
    connection_params: dict | None = None
    dev: bool = False
    # What an APP key's request says about its signed-in customer (gql_api/signed_in.py).
    customer_token: str | None = None
    # The API's read-only connections (domain.db.make_read_engine).
    read_engine: AsyncEngine | None = None
    # Whether the request sent a key at all: one that was sent but did not authenticate is not valid or revoked.
    key_sent: bool = False
    # The Authorization header (or connection_init's), and the per-key rate limit it counts against.
    credential: str | None = None
    rate_limiter: RateLimiter | None = None

    @property
    def schema_open(self) -> bool:
        """Whether introspection and "Did you mean" hints are on: in development
        mode, and for ADMIN keys (the key may arrive late, in connection_init)."""
        return self.dev or (self.api_key is not None and self.api_key.role is Role.ADMIN)

    @cached_property
    def connections(self) -> Connections:
        assert self.api_key is not None, "resolvers behind IsAuthenticated only"
        return Connections(self.engine, self.api_key.workspace_id)

    @cached_property
    def loaders(self) -> Loaders:
        return Loaders(self.connections.transaction, self.connections.workspace_id)

    def transaction(self) -> AbstractAsyncContextManager[AsyncConnection]:
        return self.connections.transaction()


class Connections:
    """How a request reaches its workspace's rows (row-level security): through
    the connection an HTTP query shares while it executes
    (gql_api/query_connection.py), or a transaction of its own. Apart from the
    context, so that the DataLoaders holding it do not hold the context: that
    reference cycle left each request's loaders, and all they loaded, to the
    garbage collector."""

    def __init__(self, engine: AsyncEngine, workspace_id: int):
        self.engine = engine
        self.workspace_id = workspace_id
        self.shared_reads: SharedReads | None = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        if self.shared_reads is not None:
            async with self.shared_reads.use() as conn:
                yield conn
        else:
            async with tenant_transaction(self.engine, self.workspace_id) as conn:
                yield conn
