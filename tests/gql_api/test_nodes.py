"""node(id) and nodes(ids): any object by global id, batched, never another workspace's."""

from sqlalchemy import func, insert, select

from domain.db import unit_of_work
from domain.tables import customers, notes
from gql_api.ids import from_global_id, to_global_id
from tests.gql_api.conftest import graphql, statements_reading
from tests.gql_api.test_recording import RECORD_INTERACTION, RECORD_PURCHASE, _purchase

NODES = """
query Nodes($ids: [ID!]!) {
  nodes(ids: $ids) {
    __typename id
    ... on Customer { externalId }
    ... on Purchase { total items { product } }
    ... on Interaction { kind }
    ... on Note { body }
  }
}"""
NODE = "query One($id: ID!) { node(id: $id) { __typename id } }"
CREATE_NOTE = "mutation N($input: NoteCreateInput!) { noteCreate(input: $input) { note { id } } }"


async def test_every_kind_comes_back_by_its_id_in_order(http, shop):
    purchase = (await graphql(http, RECORD_PURCHASE, shop["admin"], input=_purchase(shop["buyer"])))
    interaction = await graphql(http, RECORD_INTERACTION, shop["agent"],
                                input={"customerId": shop["buyer"], "kind": "COMPLAINT"})
    note = await graphql(http, CREATE_NOTE, shop["agent"], input={"customerId": shop["buyer"], "body": "hi"})
    ids = [note["data"]["noteCreate"]["note"]["id"], purchase["data"]["purchaseRecord"]["purchase"]["id"],
           shop["buyer"], interaction["data"]["interactionRecord"]["interaction"]["id"]]
    body = await graphql(http, NODES, shop["agent"], ids=ids)
    found = body["data"]["nodes"]
    assert [n["__typename"] for n in found] == ["Note", "Purchase", "Customer", "Interaction"]
    assert [n["id"] for n in found] == ids
    assert found[0]["body"] == "hi" and found[1]["items"][0]["product"] == "کتاب" and found[3]["kind"] == "COMPLAINT"


async def test_missing_foreign_and_malformed_ids(http, shop):
    from gql_api.ids import to_global_id

    assert (await graphql(http, NODE, shop["agent"], id=to_global_id("Customer", 10**12)))["data"]["node"] is None
    bad = await graphql(http, NODE, shop["agent"], id="bm90aGluZw")
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    too_many = await graphql(http, NODES, shop["agent"], ids=[shop["buyer"]] * 101)
    assert too_many["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_nodes_of_one_kind_load_in_one_query(http, shop):
    with statements_reading("customers") as statements:
        body = await graphql(http, NODES, shop["agent"], ids=[shop["buyer"]] * 20)
    assert len(body["data"]["nodes"]) == 20 and len(statements) == 1


PROFILE = """
query Profile($id: ID!, $notes: Int!) { customer(id: $id) { displayName ...Scored ...Noted } }
fragment Scored on Customer { scores { clv customerType loyalty { index factors { name points } } } }
fragment Noted on Customer {
  notes(first: $notes) { edges { cursor node { id body pinned } } pageInfo { hasNextPage endCursor } } }"""
# the same through node(id), which leaves scores and notes to their DataLoaders
BY_NODE = """
query N($id: ID!, $notes: Int!) { node(id: $id) { ... on Customer { displayName ...Scored ...Noted } } }
fragment Scored on Customer { scores { clv customerType loyalty { index factors { name points } } } }
fragment Noted on Customer {
  notes(first: $notes) { edges { cursor node { id body pinned } } pageInfo { hasNextPage endCursor } } }"""


async def test_a_profile_reads_its_scores_and_first_notes_with_the_customer(http, engine, shop):
    for text in ("first", "second", "third"):
        note = await graphql(http, CREATE_NOTE, shop["agent"], input={"customerId": shop["buyer"], "body": text})
        assert note["data"]["noteCreate"]["note"]
    async with unit_of_work(engine) as conn:
        total = await conn.scalar(select(func.count()).select_from(notes).where(
            notes.c.customer_id == from_global_id(shop["buyer"], "Customer"), notes.c.deleted_at.is_(None)))
    for size in (2, total, 50):
        with statements_reading("") as seen:
            body = await graphql(http, PROFILE, shop["agent"], id=shop["buyer"], notes=size)
        reading = [s for s in seen if "customer_scores" in s or "FROM notes" in s]
        assert len(reading) == 1 and "FROM customers" in reading[0], seen
        # the same as the DataLoaders find for the same customer
        by_node = await graphql(http, BY_NODE, shop["agent"], id=shop["buyer"], notes=size)
        assert body["data"]["customer"] == by_node["data"]["node"]
        assert body["data"]["customer"]["scores"]["loyalty"]["factors"]
        assert len(body["data"]["customer"]["notes"]["edges"]) == min(size, total)
    async with unit_of_work(engine) as conn:
        unscored = await conn.scalar(insert(customers).values(workspace_id=shop["workspace"].id, first_name="New")
                                     .returning(customers.c.id))
    body = await graphql(http, PROFILE, shop["agent"], id=to_global_id("Customer", unscored), notes=10)
    assert body["data"]["customer"] == {"displayName": "New", "scores": None, "notes": {
        "edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}}
    too_many = await graphql(http, PROFILE, shop["agent"], id=shop["buyer"], notes=101)
    assert too_many["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
