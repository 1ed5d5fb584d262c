"""customers(filter:) against the same questions asked of the tables directly."""

import pytest
from sqlalchemy import any_, func, literal, select, update

from domain.db import unit_of_work
from domain.demo import build_demo
from domain.scoring_pipeline import rescore_workspace
from domain.tables import customer_scores, customers
from domain.vocab import Role
from domain.workspaces import create_key
from gql_api.ids import to_global_id
from tests.gql_api.conftest import graphql
from tests.helpers import new_workspace

COUNT = "query Count($filter: CustomerFilter, $q: String) { customers(filter: $filter, search: $q) { totalCount } }"
PAGE = """
query Page($filter: CustomerFilter, $after: String) {
  customers(filter: $filter, first: 100, after: $after) {
    pageInfo { hasNextPage endCursor } edges { node { externalId } }
  }
}"""


@pytest.fixture(scope="module")
async def store(engine):
    workspace = await new_workspace(engine)
    async with unit_of_work(engine) as conn:
        await build_demo(conn, workspace.id, 600, seed=5)
        key, _ = await create_key(conn, workspace.id, Role.ANALYST)
        await conn.execute(update(customers).where(customers.c.workspace_id == workspace.id,
                                                   customers.c.id % 7 == 0).values(tags=["vip", "newsletter"]))
    await rescore_workspace(engine, workspace.id)
    return workspace, key


async def _api_count(http, key, filter, q=None):
    body = await graphql(http, COUNT, key, filter=filter, q=q)
    assert "errors" not in body, body
    return body["data"]["customers"]["totalCount"]


async def _sql_count(engine, workspace, *conditions):
    async with unit_of_work(engine) as conn:
        return await conn.scalar(
            select(func.count()).select_from(customers.outerjoin(customer_scores,
                                                                 customer_scores.c.customer_id == customers.c.id))
            .where(customers.c.workspace_id == workspace.id, *conditions))


@pytest.mark.parametrize(("filter", "conditions"), [
    ({"customerTypes": ["VAMPIRE", "TRIBE"]}, lambda c, s: [s.customer_type.in_(["vampire", "tribe"])]),
    ({"lifecycleStages": ["LEAD", "PROSPECT"]},
     lambda c, s: [func.coalesce(s.lifecycle_stage, c.lifecycle_stage).in_(["lead", "prospect"])]),
    ({"rfmSegments": ["CHAMPIONS"]}, lambda c, s: [s.rfm_segment == "champions"]),
    ({"kind": "ORGANISATION"}, lambda c, s: [c.kind == "organisation"]),
    ({"province": "تهران", "city": "تهران"}, lambda c, s: [c.province == "تهران", c.city == "تهران"]),
    ({"traits": ["BARGAINER"]},
     lambda c, s: [(literal("bargainer") == any_(c.staff_traits)) | (literal("bargainer") == any_(s.inferred_traits))]),
    ({"tags": ["vip", "newsletter"]}, lambda c, s: [c.tags.contains(["vip", "newsletter"])]),
    ({"clv": {"min": 50_000_000}}, lambda c, s: [s.clv >= 50_000_000]),
    ({"churnRisk": {"max": 0.2}, "loyalty": {"min": 50}},
     lambda c, s: [1 - s.probability_alive <= 0.2, s.loyalty >= 50]),
])
async def test_each_filter_counts_what_the_tables_say(http, engine, store, filter, conditions):
    workspace, key = store
    expected = await _sql_count(engine, workspace, *conditions(customers.c, customer_scores.c))
    assert 0 < expected < 600, "the demo store should exercise this filter"
    assert await _api_count(http, key, filter) == expected


async def test_filters_combine_with_search_and_paging(http, engine, store):
    workspace, key = store
    where = {"lifecycleStages": ["ACTIVE", "LOYAL"]}
    seen, after = [], None
    while True:
        body = await graphql(http, PAGE, key, filter=where, after=after)
        page = body["data"]["customers"]
        seen += [e["node"]["externalId"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == await _api_count(http, key, where)
    searched = await _api_count(http, key, where, q="demo-00001")
    assert 0 < searched <= len(seen)


ORDERED = """
query Ordered($order: CustomerOrder, $after: String, $filter: CustomerFilter) {
  customers(orderBy: $order, first: 45, after: $after, filter: $filter) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id } }
  }
}"""


@pytest.mark.parametrize(("field", "value"), [
    ("CLV", customer_scores.c.clv), ("CHURN_RISK", 1 - customer_scores.c.probability_alive),
    ("LAST_PURCHASE_AT", customer_scores.c.last_purchase_at), ("CREATED_AT", customers.c.created_at)])
@pytest.mark.parametrize("direction", ["ASC", "DESC"])
async def test_ordered_pages_walk_everyone_in_the_order_the_tables_give(http, engine, store, field, value, direction):
    workspace, key = store
    async with unit_of_work(engine) as conn:
        rows = (await conn.execute(
            select(customers.c.id, value.label("v")).select_from(
                customers.outerjoin(customer_scores, customer_scores.c.customer_id == customers.c.id))
            .where(customers.c.workspace_id == workspace.id, customers.c.deleted_at.is_(None))
            .order_by(customers.c.id))).all()
    known = sorted([r for r in rows if r.v is not None], key=lambda r: r.v, reverse=direction == "DESC")
    expected = [to_global_id("Customer", r.id) for r in known + [r for r in rows if r.v is None]]
    got, after = [], None
    while True:
        body = await graphql(http, ORDERED, key, order={"field": field, "direction": direction}, after=after)
        assert "errors" not in body, body
        page = body["data"]["customers"]
        got += [e["node"]["id"] for e in page["edges"]]
        after = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
    assert got == expected and page["totalCount"] == len(rows)
    if field == "LAST_PURCHASE_AT":
        assert any(r.v is None for r in rows), "some customers never bought: missing values come last"


async def test_an_order_refuses_a_cursor_of_another_order_and_search(http, store):
    _, key = store
    first = await graphql(http, ORDERED, key, order={"field": "CLV"})
    cursor = first["data"]["customers"]["pageInfo"]["endCursor"]
    for order in ({"field": "LOYALTY"}, None):
        body = await graphql(http, ORDERED, key, order=order, after=cursor)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
    body = await graphql(http, "query { customers(search: \"a\", orderBy: {field: CLV}) { totalCount } }", key)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
