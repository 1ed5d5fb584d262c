"""A customer's purchases and interactions as connections, newest first, and a
page of customers with all its relations in a constant number of statements."""

import re

import pytest
from sqlalchemy import func, select

from domain.db import unit_of_work
from domain.tables import customer_scores, interactions, purchases
from gql_api.ids import from_global_id, to_global_id
from tests.gql_api.conftest import graphql, statements_reading

HISTORY = """
query History($id: ID!, $after: String) {
  customer(id: $id) { %s(first: 2, after: $after) { pageInfo { hasNextPage endCursor } edges { node { id } } } }
}"""
PAGE = """
query Page($first: Int!) {
  customers(first: $first) { edges { node {
    id scores { clv } segments { key } notes(first: 3) { edges { node { body } } }
    purchases(first: 3) { edges { node { total items { product amount } } } }
    interactions(first: 3) { edges { node { kind } } }
  } } }
}"""


@pytest.mark.parametrize(("field", "table", "moment", "type_name"), [
    ("purchases", purchases, purchases.c.purchased_at, "Purchase"),
    ("interactions", interactions, interactions.c.occurred_at, "Interaction")])
async def test_history_pages_newest_first_without_gaps_or_repeats(http, engine, shop, field, table, moment,
                                                                   type_name):
    workspace_id = shop["workspace"].id
    async with unit_of_work(engine) as conn:
        customer_id = await conn.scalar(  # the one with the longest history
            select(table.c.customer_id).where(table.c.workspace_id == workspace_id)
            .group_by(table.c.customer_id).order_by(func.count().desc(), table.c.customer_id).limit(1))
        expected = [to_global_id(type_name, i) for i in await conn.scalars(
            select(table.c.id).where(table.c.workspace_id == workspace_id, table.c.customer_id == customer_id)
            .order_by(moment.desc(), table.c.id.desc()))]
    got, after = [], None
    while True:
        body = await graphql(http, HISTORY % field, shop["admin"], id=to_global_id("Customer", customer_id),
                             after=after)
        assert "errors" not in body, body
        page = body["data"]["customer"][field]
        got += [e["node"]["id"] for e in page["edges"]]
        after = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
    assert got == expected and len(expected) > 0


async def test_a_page_of_customers_with_every_relation_takes_one_statement_per_table(http, shop, engine):
    tables = ["customer_scores", "segment_memberships", "notes", "purchases", "purchase_items", "interactions"]
    counts = {}
    for first in (5, 100):
        with statements_reading("") as seen:  # every statement
            body = await graphql(http, PAGE, shop["agent"], first=first)
        assert "errors" not in body, body
        nodes = [e["node"] for e in body["data"]["customers"]["edges"]]
        assert len(nodes) == first
        counts[first] = {t: sum(bool(re.search(rf"FROM {t}\b", s)) for s in seen) for t in tables}
    # The scores come with the page itself (joined for filters anyway)
    assert counts[5] == counts[100] == {**dict.fromkeys(tables, 1), "customer_scores": 0}, counts
    async with unit_of_work(engine) as conn:
        clv = dict((await conn.execute(select(customer_scores.c.customer_id, customer_scores.c.clv))).all())
    assert [n["scores"] and n["scores"]["clv"] for n in nodes] == [
        None if (v := clv.get(from_global_id(n["id"], "Customer"))) is None else f"{v:.2f}" for n in nodes]
    assert any(n["scores"] for n in nodes)
    assert any(n["purchases"]["edges"] for n in nodes) and any(n["interactions"]["edges"] for n in nodes)
