"""The API over HTTP: health, auth by API key, and a first customer page."""

import asyncio
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from domain.db import unit_of_work
from domain.importing import import_customers, read_csv
from domain.tables import api_keys, customers
from domain.vocab import Role
from domain.workspaces import create_key, revoke_key
from gql_api.ids import to_global_id
from gql_api.known_keys import KEY_CACHE_SECONDS
from tests.gql_api.conftest import graphql
from tests.helpers import new_workspace

METRICS_TOKEN = "scrape-me"


@pytest.fixture(scope="module")
def app_options() -> dict:
    return {"metrics_token": METRICS_TOKEN}

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

VIEWER = "{ viewer { workspaceSlug role } }"
CUSTOMERS = """
query Page($after: String) {
  customers(first: 3, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id externalId displayName phoneE164 lifecycleStage staffTraits } }
  }
}"""
CUSTOMER = "query One($id: ID!) { customer(id: $id) { externalId displayName } }"


async def test_health_and_readiness(http):
    assert (await http.get("/healthz")).text == "ok"
    ready = await http.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"ready": True}


async def test_no_key_or_a_wrong_key_is_unauthenticated_and_the_message_says_which(http):
    for key, says in ((None, "an API key is required"), ("tribe_not-a-real-key", "not valid or was revoked"),
                      ("garbage", "not valid or was revoked")):
        body = await graphql(http, VIEWER, key)
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert says in body["errors"][0]["message"], (key, body)


async def test_viewer_names_the_keys_workspace_and_role(http, admin):
    workspace, key = admin
    body = await graphql(http, VIEWER, key)
    assert body == {"data": {"viewer": {"workspaceSlug": workspace.slug, "role": "ADMIN"}}}


async def test_revoked_key_stops_working(http, engine):
    workspace = await new_workspace(engine)
    async with unit_of_work(engine) as conn:
        key, record = await create_key(conn, workspace.id, Role.ANALYST)
    assert (await graphql(http, VIEWER, key))["data"]["viewer"]["role"] == "ANALYST"
    async with unit_of_work(engine) as conn:
        await revoke_key(conn, workspace.id, record.id)
    # A server remembers a key it has authenticated for KEY_CACHE_SECONDS.
    deadline = time.monotonic() + KEY_CACHE_SECONDS + 5
    while "errors" not in (body := await graphql(http, VIEWER, key)) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert body["errors"][0]["message"] == "this API key is not valid or was revoked"


async def test_customer_pages_walk_the_whole_workspace(http, engine, admin):
    workspace, key = admin
    async with unit_of_work(engine) as conn:
        await import_customers(conn, workspace.id, read_csv(EXAMPLES / "customers.csv"))
    first = (await graphql(http, CUSTOMERS, key))["data"]["customers"]
    assert first["totalCount"] == 4 and first["pageInfo"]["hasNextPage"]
    second = (await graphql(http, CUSTOMERS, key, after=first["pageInfo"]["endCursor"]))["data"]["customers"]
    assert not second["pageInfo"]["hasNextPage"]
    seen = [e["node"]["externalId"] for e in first["edges"] + second["edges"]]
    assert seen == ["C-1001", "C-1002", "C-1003", "C-1004"]
    maryam = first["edges"][0]["node"]
    assert maryam["phoneE164"] == "+989123456789" and maryam["lifecycleStage"] == "ACTIVE"
    one = await graphql(http, CUSTOMER, key, id=maryam["id"])
    assert one["data"]["customer"] == {"externalId": "C-1001", "displayName": "مریم کریمی"}


async def test_another_workspaces_customer_is_not_found(http, engine, admin):
    _, key = admin
    other = await new_workspace(engine)
    async with unit_of_work(engine) as conn:
        await import_customers(conn, other.id, read_csv(EXAMPLES / "customers.csv"))
        theirs = list(await conn.scalars(select(customers.c.id).where(customers.c.workspace_id == other.id)))
    assert len(theirs) == 4
    for pk in theirs:
        body = await graphql(http, CUSTOMER, key, id=to_global_id("Customer", pk))
        assert body == {"data": {"customer": None}}


async def test_malformed_ids_and_page_sizes_are_bad_input(http, admin):
    _, key = admin
    bad_id = await graphql(http, CUSTOMER, key, id="not-an-id")
    assert bad_id["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    too_big = await graphql(http, "{ customers(first: 1000) { totalCount } }", key)
    assert too_big["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_an_unexpected_failure_is_masked(http, admin, monkeypatch):
    _, key = admin

    async def broken(*args, **kwargs):
        raise RuntimeError("password=hunter2 in a driver message")

    monkeypatch.setattr("gql_api.customers.queries.count_customers", broken)
    body = await graphql(http, "{ customers(first: 1) { totalCount } }", key)
    assert body["errors"][0]["message"] == "Internal error."
    assert "hunter2" not in str(body)


SEARCH = """
query Search($q: String!, $after: String) {
  customers(search: $q, first: 2, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { externalId } }
  }
}"""


async def test_search_over_http_ranks_and_pages_without_gaps_or_repeats(http, engine):
    workspace = await new_workspace(engine)
    async with unit_of_work(engine) as conn:
        await import_customers(conn, workspace.id, read_csv(EXAMPLES / "customers.csv"))
        key, _ = await create_key(conn, workspace.id, Role.AGENT)
        for i in range(5):  # five more Karimis to page through
            await conn.execute(customers.insert().values(workspace_id=workspace.id, external_id=f"K-{i}",
                                                         first_name="رضا", last_name="کریمی",
                                                         search_text=f"رضا کریمی k-{i}"))
    first = (await graphql(http, SEARCH, key, q="مريم كريمي"))["data"]["customers"]
    assert first["edges"][0]["node"]["externalId"] == "C-1001"  # typed with Arabic letters
    seen, after = [], None
    while True:
        page = (await graphql(http, SEARCH, key, q="کریمی", after=after))["data"]["customers"]
        seen += [e["node"]["externalId"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert page["totalCount"] == 6 and len(seen) == 6 and len(set(seen)) == 6
    bad = await graphql(http, SEARCH, key, q="کریمی", after="bm90LWEtY3Vyc29y")
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    empty = await graphql(http, SEARCH, key, q="  ")
    assert empty["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_key_use_is_recorded_without_a_write_per_request(http, engine):
    workspace = await new_workspace(engine)
    async with unit_of_work(engine) as conn:
        key, record = await create_key(conn, workspace.id, Role.AGENT)
    assert record.last_used_at is None
    await graphql(http, VIEWER, key)
    async with unit_of_work(engine) as conn:
        first = await conn.scalar(select(api_keys.c.last_used_at).where(api_keys.c.id == record.id))
    await graphql(http, VIEWER, key)
    async with unit_of_work(engine) as conn:
        second = await conn.scalar(select(api_keys.c.last_used_at).where(api_keys.c.id == record.id))
    assert first is not None and second == first


async def test_metrics_and_request_ids(http, admin):
    _, key = admin
    response = await http.post("/graphql", json={"query": "query Probe { viewer { role } }"},
                                headers={"Authorization": f"Bearer {key}", "X-Request-ID": "trace-123"})
    assert response.headers["x-request-id"] == "trace-123"
    assert (await http.get("/healthz")).headers["x-request-id"]  # made up when the client sent none
    await graphql(http, "query Broken { customers(first: 1000) { totalCount } }", key)
    text = (await http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})).text
    assert 'tribe_graphql_operations_total{operation="Probe"}' in text
    assert 'tribe_graphql_errors_total{operation="Broken"} ' in text
    assert 'tribe_graphql_duration_seconds_count{operation="Probe"}' in text
    assert "tribe_db_pool_connections_in_use" in text and "tribe_db_read_pool_size 10" in text


async def test_metrics_are_for_the_metrics_token_and_hold_no_label_a_client_wrote(http, admin):
    """/metrics was open to anyone, an unknown path went into a label as
    sent (a forged metric line), and every path and operation name a client
    made up added a series for good."""
    _, key = admin
    for refused in ({}, {"Authorization": f"Bearer {key}"}, {"Authorization": "Bearer wrong"}):
        assert (await http.get("/metrics", headers=refused)).status_code == 404
    await http.get("/x%22%7D%201%0Ainjected_metric%7Ba%3D%22")  # decoded: /x"} 1 newline injected_metric{a="
    for i in range(3):
        await http.get(f"/made-up-{i}")
    await http.post("/graphql", json={"query": "query Real { viewer { role } }",
                                      "operationName": 'Real"} 1\nforged{x="'},
                    headers={"Authorization": f"Bearer {key}"})
    text = (await http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})).text
    assert "injected_metric" not in text and "forged" not in text and "made-up" not in text
    assert 'path="other",status="404"' in text
    assert all(line.startswith(("#", "tribe_")) for line in text.splitlines())



async def test_browser_apps_on_allowed_origins_may_call_the_api_and_no_others(engine, admin):
    import httpx

    from gql_api.app import create_app

    _, key = admin
    preflight = {"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"}
    for origins, origin, allowed in ((["https://shop.example"], "https://shop.example", True),
                                     (["https://shop.example"], "https://evil.example", False),
                                     (None, "https://shop.example", False)):
        app = create_app(engine, cors_origins=origins)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            checked = await client.options("/graphql", headers={"Origin": origin, **preflight})
            called = await client.post("/graphql", json={"query": "{ viewer { role } }"},
                                       headers={"Origin": origin, "Authorization": f"Bearer {key}"})
        assert (checked.headers.get("access-control-allow-origin") == origin) is allowed, (origins, origin)
        assert (checked.status_code == 200) is allowed
        assert (called.headers.get("access-control-allow-origin") == origin) is allowed
        assert called.json() == {"data": {"viewer": {"role": "ADMIN"}}}  # the server answers; the browser decides
