"""One read-only connection for all of a query's resolvers and DataLoaders.

A query over HTTP used to open a transaction for each resolver and each
DataLoader batch, each paying for a pool checkout, BEGIN, setting the tenant
role and COMMIT. Now the first of them takes a connection of the read engine
(`domain.db.make_read_engine`: autocommit, read-only, already the tenant role)
and the others queue for it; it goes back to the pool with the operation.
Mutations keep one transaction per mutation field, so that each commits or
rolls back on its own, and subscriptions one per event. WebSocket queries too
keep their own: a WebSocket's context is shared by every operation on the
socket.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.requests import Request
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from domain.db import tenant_reads


class SharedReads:
    """Taken at first use; statements take turns on its connection."""

    def __init__(self, read_engine: AsyncEngine, workspace_id: int):
        self._read_engine = read_engine
        self._workspace_id = workspace_id
        self._turn = asyncio.Lock()
        self._open = AsyncExitStack()
        self._conn: AsyncConnection | None = None

    @asynccontextmanager
    async def use(self) -> AsyncIterator[AsyncConnection]:
        async with self._turn:
            if self._conn is None:
                self._conn = await self._open.enter_async_context(
                    tenant_reads(self._read_engine, self._workspace_id))
            yield self._conn

    async def end(self) -> None:
        await self._open.aclose()


class SharedQueryConnection(SchemaExtension):
    """Gives an HTTP query's context SharedReads for its execution."""

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        shared = (self.execution_context.operation_type is OperationType.QUERY
                  and isinstance(context.request, Request) and context.api_key is not None
                  and context.read_engine is not None)
        if not shared:
            yield
            return
        connections = context.connections
        connections.shared_reads = SharedReads(context.read_engine, connections.workspace_id)
        try:
            yield
        finally:
            reads, connections.shared_reads = connections.shared_reads, None
            await reads.end()
