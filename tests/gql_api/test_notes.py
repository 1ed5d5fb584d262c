"""Notes over HTTP: write, pin, edit, delete, page; roles and workspaces respected;
one query for the notes of a whole page of customers."""

import pytest
from domain.db import unit_of_work
from domain.tables import customers
from domain.vocab import Role
from domain.workspaces import create_key
from gql_api.ids import to_global_id
from tests.gql_api.conftest import graphql, statements_reading
from tests.helpers import new_workspace

CREATE = """
mutation Create($input: NoteCreateInput!) {
  noteCreate(input: $input) { note { id author kind body pinned } userErrors { field code message } }
}"""
UPDATE = """
mutation Update($input: NoteUpdateInput!) {
  noteUpdate(input: $input) { note { id body pinned kind } userErrors { field code } }
}"""
DELETE = "mutation Delete($input: NoteDeleteInput!) { noteDelete(input: $input) { note { id } userErrors { code } } }"
NOTES = """
query Notes($id: ID!, $after: String) {
  customer(id: $id) { notes(first: 2, after: $after) {
    pageInfo { hasNextPage endCursor } edges { node { body pinned kind } } } }
}"""
PAGE_WITH_NOTES = "{ customers(first: 50) { edges { node { id notes(first: 3) { edges { node { body } } } } } } }"


@pytest.fixture(scope="module")
async def crm(engine):
    workspace = await new_workspace(engine)
    async with unit_of_work(engine) as conn:
        ids = [await conn.scalar(customers.insert().values(workspace_id=workspace.id, first_name=f"c{i}")
                                 .returning(customers.c.id)) for i in range(30)]
        agent, _ = await create_key(conn, workspace.id, Role.AGENT, "sara@shop")
        analyst, _ = await create_key(conn, workspace.id, Role.ANALYST)
    return {"workspace": workspace, "agent": agent, "analyst": analyst,
            "customers": [to_global_id("Customer", pk) for pk in ids]}


async def _create(http, key, customer, body, **extra):
    result = await graphql(http, CREATE, key, input={"customerId": customer, "body": body, **extra})
    return result["data"]["noteCreate"]


async def test_notes_are_written_pinned_edited_deleted_and_paged(http, crm):
    customer = crm["customers"][0]
    first = await _create(http, crm["agent"], customer, "تماس گرفت", kind="CALL")
    assert first["userErrors"] == [] and first["note"]["author"] == "sara@shop" and first["note"]["kind"] == "CALL"
    for body in ("second", "third", "fourth"):
        await _create(http, crm["agent"], customer, body)
    pinned = await graphql(http, UPDATE, crm["agent"], input={"id": first["note"]["id"], "pinned": True,
                                                               "body": "تماس گرفت؛ پیگیری شد"})
    assert pinned["data"]["noteUpdate"]["note"]["pinned"]
    deleted = await _create(http, crm["agent"], customer, "mistake")
    await graphql(http, DELETE, crm["agent"], input={"id": deleted["note"]["id"]})

    seen, after = [], None
    while True:
        body = await graphql(http, NOTES, crm["agent"], id=customer, after=after)
        assert "errors" not in body, body
        page = body["data"]["customer"]["notes"]
        seen += [e["node"]["body"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == ["تماس گرفت؛ پیگیری شد", "fourth", "third", "second"]  # pinned first, then newest


@pytest.mark.parametrize(("change", "field", "code"), [
    ({"body": "   "}, ["body"], "REQUIRED"),
    ({"body": "x" * 10_001}, ["body"], "TOO_LONG"),
    ({"customerId": "nope"}, ["customerId"], "INVALID"),
    ({"customerId": to_global_id("Customer", 10**12)}, ["customerId"], "NOT_FOUND"),
])
async def test_bad_notes_get_typed_errors(http, crm, change, field, code):
    body = await graphql(http, CREATE, crm["agent"], input={"customerId": crm["customers"][1], "body": "ok", **change})
    result = body["data"]["noteCreate"]
    assert result["note"] is None and [(e["field"], e["code"]) for e in result["userErrors"]] == [(field, code)]


async def test_an_analyst_reads_but_does_not_write_notes(http, crm):
    denied = await graphql(http, CREATE, crm["analyst"], input={"customerId": crm["customers"][2], "body": "x"})
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await graphql(http, NOTES, crm["analyst"], id=crm["customers"][0]))["data"]["customer"]["notes"]


async def test_another_workspaces_note_cannot_be_touched(http, engine, crm):
    other = await new_workspace(engine)
    async with unit_of_work(engine) as conn:
        key, _ = await create_key(conn, other.id, Role.AGENT)
        theirs = await conn.scalar(customers.insert().values(workspace_id=other.id, first_name="x")
                                   .returning(customers.c.id))
    note = await _create(http, key, to_global_id("Customer", theirs), "private")
    attempt = await graphql(http, UPDATE, crm["agent"], input={"id": note["note"]["id"], "body": "hacked"})
    assert attempt["data"]["noteUpdate"]["userErrors"][0]["code"] == "NOT_FOUND"
    gone = await graphql(http, DELETE, crm["agent"], input={"id": note["note"]["id"]})
    assert gone["data"]["noteDelete"]["userErrors"][0]["code"] == "NOT_FOUND"


async def test_notes_of_a_page_of_customers_load_in_one_query(http, crm):
    for customer in crm["customers"][:10]:
        await _create(http, crm["agent"], customer, "hello")
    with statements_reading("notes") as statements:
        body = await graphql(http, PAGE_WITH_NOTES, crm["agent"])
    nodes = body["data"]["customers"]["edges"]
    assert len(nodes) == 30 and sum(len(n["node"]["notes"]["edges"]) > 0 for n in nodes) >= 10
    assert len(statements) == 1
