"""One read-only transaction for all of a query's resolvers and DataLoaders.

A query over HTTP used to open a transaction for each resolver and each
DataLoader batch, each paying for a pool checkout, BEGIN, setting the tenant
role and COMMIT: four round trips of overhead for a customer by id with its
scores and notes. Now the first of them opens one transaction (READ ONLY, so a
query cannot write by mistake) and the others queue for the same connection;
it ends with the operation. Mutations keep one transaction per mutation field,
so that each commits or rolls back on its own, and subscriptions one per
event. WebSocket queries too keep their own: a WebSocket's context is shared by
every operation on the socket.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.requests import Request
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from domain.db import tenant_transaction


class SharedTransaction:
    """Opened at first use; statements take turns on its connection."""

    def __init__(self, engine: AsyncEngine, workspace_id: int):
        self._engine = engine
        self._workspace_id = workspace_id
        self._turn = asyncio.Lock()
        self._open = AsyncExitStack()
        self._conn: AsyncConnection | None = None

    @asynccontextmanager
    async def use(self) -> AsyncIterator[AsyncConnection]:
        async with self._turn:
            if self._conn is None:
                self._conn = await self._open.enter_async_context(
                    tenant_transaction(self._engine, self._workspace_id, read_only=True))
            yield self._conn

    async def end(self) -> None:
        await self._open.aclose()


class SharedQueryTransaction(SchemaExtension):
    """Gives an HTTP query's context a SharedTransaction for its execution."""

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        shared = (self.execution_context.operation_type is OperationType.QUERY
                  and isinstance(context.request, Request) and context.api_key is not None)
        if not shared:
            yield
            return
        context.shared_transaction = SharedTransaction(context.engine, context.api_key.workspace_id)
        try:
            yield
        finally:
            transaction, context.shared_transaction = context.shared_transaction, None
            await transaction.end()
