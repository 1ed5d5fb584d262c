"""A running API (uvicorn on a free loopback port) over the module's database."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool

from domain.db import unit_of_work
from domain.demo import build_demo
from domain.scoring_pipeline import rescore_workspace
from domain.tables import purchases
from domain.vocab import Role
from domain.workspaces import create_key
from gql_api.app import create_app
from gql_api.ids import to_global_id
from tests.helpers import new_workspace


NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="Node.js is not installed")
JS = Path(__file__).parent / "js"


def npm_clients() -> Path:
    """The folder of the npm client scripts, their packages installed (npm ci) if any is missing."""
    wanted = json.loads((JS / "package.json").read_text())["dependencies"]
    if not all((JS / "node_modules" / name).exists() for name in wanted):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=JS, check=True, timeout=300)
    return JS


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def app_options() -> dict:
    """create_app's options for the module's server (a module may override it)."""
    return {}


@pytest.fixture(scope="module")
async def api_url(engine, app_options):
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(engine, **app_options), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@contextlib.contextmanager
def run_app(database_url: str):
    """`uvicorn gql_api.asgi:app` in a process of its own over that database; its URL."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "TRIBE_RATE_PER_SECOND": "10000"}
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", "gql_api.asgi:app", "--port", str(port),
                                "--log-level", "warning"], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server on port {port} did not start")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


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


@contextlib.contextmanager
def statements_reading(table: str):
    """Collect the SQL statements that read `table` (any statement, for "")
    while the block runs (N+1 checks): those sent through SQLAlchemy, and those
    sent straight through asyncpg (domain/direct_reads.py), on every engine
    (the app reads through an engine of its own)."""
    seen: list[str] = []
    logging: list = []  # the asyncpg connections given a query logger

    def record(statement: str) -> None:
        if not table or f"FROM {table}" in statement:
            seen.append(statement)

    def through_sqlalchemy(conn, cursor, statement, *args):
        record(statement)

    def through_asyncpg(logged) -> None:
        record(logged.query)

    def log_direct_reads(dbapi_connection, *args):
        driver = dbapi_connection.driver_connection
        if driver not in logging:
            driver.add_query_logger(through_asyncpg)
            logging.append(driver)

    event.listen(Engine, "before_cursor_execute", through_sqlalchemy)
    event.listen(Pool, "checkout", log_direct_reads)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", through_sqlalchemy)
        event.remove(Pool, "checkout", log_direct_reads)
        for driver in logging:
            driver.remove_query_logger(through_asyncpg)


async def graphql(http, query: str, key: str | None = None, **variables):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    response = await http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    return response.json()


@pytest.fixture(scope="module")
async def shop(engine):
    """A scored demo workspace of 400 customers, with ADMIN and AGENT keys and a buyer."""
    workspace = await new_workspace(engine)
    async with unit_of_work(engine) as conn:
        await build_demo(conn, workspace.id, 400, seed=3)
        admin, _ = await create_key(conn, workspace.id, Role.ADMIN)
        agent, _ = await create_key(conn, workspace.id, Role.AGENT)
        buyer = await conn.scalar(select(purchases.c.customer_id).where(purchases.c.workspace_id == workspace.id)
                                  .limit(1))
    await rescore_workspace(engine, workspace.id)
    return {"workspace": workspace, "admin": admin, "agent": agent, "buyer": to_global_id("Customer", buyer)}


MOVE_SEGMENT = """
mutation Move($input: SegmentUpdateInput!) { segmentUpdate(input: $input) { userErrors { code message } } }"""


async def move_city_segment(http, key: str, segment_id: str, city: str) -> None:
    """Point a rule segment at another city: that city's customers enter, the previous one's leave."""
    result = await graphql(http, MOVE_SEGMENT, key, input={"id": segment_id, "rule": {
        "condition": {"field": "city", "op": "EQ", "value": city}}})
    assert result["data"]["segmentUpdate"]["userErrors"] == []
