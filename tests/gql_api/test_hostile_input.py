"""What a hostile or careless client sends gets a 4xx or an error with a code,
never a 500, a plain-text body or "Internal error.": bodies that are not
UTF-8 or nest too deep, text with NUL characters or lone surrogates, ids and
cursors beyond 64 bits or spelled otherwise than Tribe spells them."""

from __future__ import annotations

import base64
import json

import pytest

from gql_api.ids import to_cursor, to_global_id
from tests.gql_api.conftest import graphql

SEARCH = "query($q: String!) { customers(search: $q, first: 5) { totalCount } }"
CUSTOMER = "query($id: ID!) { customer(id: $id) { id } }"
NOTE = """mutation($input: NoteCreateInput!) { noteCreate(input: $input) { note { id } userErrors { field code } } }"""
CHANGES = "query($after: String) { customerChanges(after: $after, first: 5) { edges { cursor } } }"


def _raw_id(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


async def _post(http, key: str, body: bytes, accept: str = "application/json"):
    return await http.post("/graphql", content=body, headers={
        "Authorization": f"Bearer {key}", "content-type": "application/json", "accept": accept})


@pytest.mark.parametrize(("body", "says"), [
    (b'{"query":"{ viewer { role } }","x":"\xff"}', "UTF-8"),
    (b'{"query":"query($q: String!) { customers(search: $q) { totalCount } }","variables":{"q":"\xff\xfe"}}', "UTF-8"),
    (('{"query":"{ viewer { role } }","variables":{"a":' + "[" * 1500 + "]" * 1500 + "}}").encode(), "deep"),
    (('{"query":"{ viewer { role } }","variables":{"a":' + "[" * 5000 + "]" * 5000 + "}}").encode(), "deep"),
    (b'{"query":', "JSON"),
])
@pytest.mark.parametrize("accept", ["application/json", "application/graphql-response+json"])
async def test_a_body_that_cannot_be_read_is_a_400_with_a_graphql_error_and_a_code(http, admin, body, says, accept):
    _, key = admin
    response = await _post(http, key, body, accept)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].split(";")[0] == accept
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST" and says in error["message"], error
    assert "data" not in response.json()


@pytest.mark.parametrize("text", ["a\u0000b", "\ud800x", "x\udfff"])
async def test_text_with_nul_characters_or_lone_surrogates_is_bad_user_input(http, admin, text):
    """In a variable or a literal alike (GraphQL's own grammar refuses an
    unpaired surrogate escape in a literal: a parse failure, with its code)."""
    _, key = admin
    for body, codes in ((json.dumps({"query": SEARCH, "variables": {"q": text}}), {"BAD_USER_INPUT"}),
                        (json.dumps({"query": "{ customers(search: %s, first: 5) { totalCount } }" % json.dumps(text)}),
                         {"BAD_USER_INPUT", "GRAPHQL_PARSE_FAILED"})):
        response = await _post(http, key, body.encode("utf-8", "surrogatepass"))
        errors = response.json()["errors"]
        assert response.status_code in (200, 400) and errors[0]["extensions"]["code"] in codes, errors
        assert "Internal error" not in errors[0]["message"]


async def test_a_note_with_a_nul_character_is_refused_and_nothing_is_written(http, admin, engine):
    _, key = admin
    made = await graphql(http, 'mutation { customerCreate(input: {firstName: "N"}) { customer { id } } }', key)
    customer = made["data"]["customerCreate"]["customer"]["id"]
    body = await graphql(http, NOTE, key, input={"customerId": customer, "body": "call\u0000back"})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
    notes = await graphql(http, "query($id: ID!) { customer(id: $id) { notes { edges { node { id } } } } }", key,
                          id=customer)
    assert notes["data"]["customer"]["notes"]["edges"] == []


@pytest.mark.parametrize("raw", ["Customer:9223372036854775808", "Customer:99999999999999999999999",
                                 "Customer:0312", "Customer:۳۱۲", "Customer:+312", "Customer: 312", "Customer:-1"])
async def test_ids_beyond_64_bits_or_not_canonical_are_bad_user_input(http, admin, raw):
    _, key = admin
    body = await graphql(http, CUSTOMER, key, id=_raw_id(raw))
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body


async def test_an_id_padded_or_spelled_another_way_is_not_the_same_id(http, admin):
    _, key = admin
    made = await graphql(http, 'mutation { customerCreate(input: {firstName: "Pad"}) { customer { id } } }', key)
    customer = made["data"]["customerCreate"]["customer"]["id"]
    assert (await graphql(http, CUSTOMER, key, id=customer))["data"]["customer"]["id"] == customer
    padded = customer + "=" * (-len(customer) % 4)
    if padded != customer:
        assert (await graphql(http, CUSTOMER, key, id=padded))["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("cursor", [to_cursor("event", 10**20), to_cursor("event", "0012"), to_cursor("event", -5)])
async def test_cursors_beyond_64_bits_or_not_canonical_are_bad_user_input(http, admin, cursor):
    _, key = admin
    body = await graphql(http, CHANGES, key, after=cursor)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body


async def test_a_customers_notes_without_arguments_are_its_first_page(http, admin):
    _, key = admin
    made = await graphql(http, 'mutation { customerCreate(input: {firstName: "Q"}) { customer { id } } }', key)
    customer = made["data"]["customerCreate"]["customer"]["id"]
    await graphql(http, NOTE, key, input={"customerId": customer, "body": "hello"})
    body = await graphql(http, "query($id: ID!) { customer(id: $id) { notes { edges { node { body } } } } }", key,
                         id=customer)
    assert body == {"data": {"customer": {"notes": {"edges": [{"node": {"body": "hello"}}]}}}}


def test_the_test_ids_are_what_tribe_makes():
    assert _raw_id("Customer:5") == to_global_id("Customer", 5)
