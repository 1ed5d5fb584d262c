"""A running API (uvicorn on a free loopback port) over the module's database."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
import uvicorn

from domain.db import unit_of_work
from domain.vocab import Role
from domain.workspaces import create_key
from gql_api.app import create_app
from tests.helpers import new_workspace


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
async def api_url(engine):
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(engine), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest.fixture(scope="module")
async def http(api_url):
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
async def admin(engine):
    """(workspace, key) with the ADMIN role."""
    workspace = await new_workspace(engine)
    async with unit_of_work(engine) as conn:
        key, _ = await create_key(conn, workspace.id, Role.ADMIN)
    return workspace, key


async def graphql(http, query: str, key: str | None = None, **variables):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    response = await http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    return response.json()
