"""The API across a PostgreSQL restart, through a link that goes down and
comes back (tests/faults/flaky_link.py): during the outage every request gets
a clean error with a code (SERVICE_UNAVAILABLE), never "Internal error.";
after it, every request succeeds again: a connection the server closed is
never handed to a request again."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from domain.db import is_unavailable, make_engine, unit_of_work
from domain.demo import build_demo
from domain.tables import customers, notes
from domain.vocab import Role
from domain.workspaces import create_key
from gql_api.app import create_app
from gql_api.ids import to_global_id
from tests.faults.flaky_link import FlakyLink
from tests.helpers import new_workspace

CUSTOMER = "query($id: ID!) { customer(id: $id) { displayName notes(first: 3) { edges { node { body } } } } }"
NOTE = """mutation($id: ID!) { noteCreate(input: {customerId: $id, body: "across the restart"}) {
  note { id } userErrors { code } } }"""


@pytest.fixture(scope="module")
async def shop(engine):
    workspace = await new_workspace(engine, "restart")
    async with unit_of_work(engine) as conn:
        await build_demo(conn, workspace.id, 60, seed=2)
        keys = [(await create_key(conn, workspace.id, Role.ADMIN))[0] for _ in range(2)]
        ids = list(await conn.scalars(select(customers.c.id).where(customers.c.workspace_id == workspace.id)))
    return workspace.id, keys, [to_global_id("Customer", pk) for pk in ids]


async def test_during_an_outage_errors_have_a_code_and_after_it_every_request_succeeds(engine, database_url, shop):
    workspace_id, (key, unseen_key), ids = shop
    link = FlakyLink(database_url)
    await link.up()
    through = make_engine(link.url)
    app = create_app(through, rate_per_second=10_000, rate_burst=10_000, campaign_tick_seconds=None,
                     segment_refresh_minutes=None, webhooks=False)
    acknowledged = 0

    async def request(client, document: str, i: int, with_key: str = key) -> dict:
        answer = await client.post("/graphql", json={"query": document, "variables": {"id": ids[i % len(ids)]}},
                                   headers={"Authorization": f"Bearer {with_key}"})
        return {"status": answer.status_code, **answer.json()}

    try:
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            await asyncio.gather(*(request(client, CUSTOMER, i) for i in range(30)))  # both pools full
            await link.down()
            during = [await request(client, CUSTOMER, i) for i in range(5)]
            during.append(await request(client, NOTE, 0))
            during.append(await request(client, CUSTOMER, 0, unseen_key))  # not authenticated before: a 503
            ready_during = await client.get("/readyz")
            await link.up()
            restarted = time.monotonic()
            first_success = None
            after = []
            for i in range(40):
                answer = await request(client, CUSTOMER if i % 4 else NOTE, i)
                if "errors" not in answer and first_success is None:
                    first_success = time.monotonic() - restarted
                acknowledged += "errors" not in answer and i % 4 == 0
                after.append(answer)
            ready_after = await client.get("/readyz")
    finally:
        await through.dispose()
        await link.down()
    codes = [e.get("extensions", {}).get("code") for answer in during for e in answer.get("errors", [])]
    assert codes and set(codes) == {"SERVICE_UNAVAILABLE"}, during
    assert not any("Internal error" in str(answer) for answer in during)
    assert during[-1]["status"] == 503 and ready_during.status_code == 503
    assert [a for a in after if "errors" in a] == [] and ready_after.status_code == 200
    assert first_success is not None and first_success < 5
    async with unit_of_work(engine) as conn:  # every acknowledged write is there
        assert await conn.scalar(select(func.count()).select_from(notes).where(
            notes.c.workspace_id == workspace_id, notes.c.body == "across the restart")) == acknowledged == 10


def test_what_counts_as_the_database_being_away():
    refused = ConnectionRefusedError(111, "Connect call failed")
    wrapped = DBAPIError("SELECT 1", {}, asyncpg.exceptions.AdminShutdownError("terminating connection"))
    assert is_unavailable(refused) and is_unavailable(wrapped)
    assert not is_unavailable(ValueError("a bug")) and not is_unavailable(None)
    assert not is_unavailable(DBAPIError("SELECT", {}, asyncpg.exceptions.UniqueViolationError("dup")))
