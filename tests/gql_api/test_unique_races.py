"""Concurrent writes of the same unique key: one of them is stored, and each
of the others gets the typed userError the sequential path gives (TAKEN, with
the field), never "Internal error." — whichever of them checks first, the
unique index has the last word, and its refusal is translated."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from domain.db import unit_of_work
from domain.tables import customers, interactions, purchases, segments
from tests.gql_api.conftest import graphql

ATTEMPTS = 12

CUSTOMER = """mutation($input: CustomerInput!) { customerCreate(input: $input) {
  customer { id } userErrors { field code message } } }"""
PURCHASE = """mutation($input: PurchaseRecordInput!) { purchaseRecord(input: $input) {
  purchase { id } userErrors { field code message } } }"""
INTERACTION = """mutation($input: InteractionRecordInput!) { interactionRecord(input: $input) {
  interaction { id } userErrors { field code message } } }"""
SEGMENT = """mutation($input: SegmentCreateInput!) { segmentCreate(input: $input) {
  segment { id } userErrors { field code message } } }"""


def _cases(shop, n: int) -> dict:
    buyer = shop["buyer"]
    return {
        "customerCreate": (CUSTOMER, {"firstName": "Race", "externalId": f"RACE-{n}"}, ["externalId"], customers,
                           customers.c.external_id == f"RACE-{n}"),
        "purchaseRecord": (PURCHASE, {"customerId": buyer, "externalId": f"ORDER-RACE-{n}",
                                      "items": [{"product": "tea", "amount": "1000"}]}, ["externalId"], purchases,
                           purchases.c.external_id == f"ORDER-RACE-{n}"),
        "interactionRecord": (INTERACTION, {"customerId": buyer, "kind": "COMPLAINT", "externalId": f"TICKET-{n}"},
                              ["externalId"], interactions, interactions.c.external_id == f"TICKET-{n}"),
        "segmentCreate": (SEGMENT, {"name": f"Race {n}", "kind": "MANUAL", "key": f"race-{n}"}, ["key"], segments,
                          segments.c.key == f"race-{n}"),
    }


@pytest.mark.parametrize("mutation", ["customerCreate", "purchaseRecord", "interactionRecord", "segmentCreate"])
@pytest.mark.parametrize("round_", range(3))
async def test_concurrent_writes_of_one_unique_key_store_one_and_refuse_the_rest_with_a_code(
        http, engine, shop, mutation, round_):
    document, variables, field, table, same = _cases(shop, round_)[mutation]
    results = await asyncio.gather(*(graphql(http, document, shop["admin"], input=variables)
                                     for _ in range(ATTEMPTS)))
    assert all("errors" not in r for r in results), [r for r in results if "errors" in r][:1]
    payloads = [r["data"][mutation] for r in results]
    refused = [p["userErrors"] for p in payloads if p["userErrors"]]
    assert len(refused) == ATTEMPTS - 1, payloads
    assert all(errors[0]["code"] == "TAKEN" and errors[0]["field"] == field for errors in refused), refused
    async with unit_of_work(engine) as conn:
        assert await conn.scalar(select(func.count()).select_from(table).where(
            table.c.workspace_id == shop["workspace"].id, same)) == 1


async def test_concurrent_offers_with_one_new_shared_code_store_one(http, engine, shop):
    made = await graphql(http, 'mutation { campaignCreate(input: {name: "Race", channel: IN_APP}) '
                               '{ campaign { id } userErrors { code } } }', shop["admin"])
    campaign = made["data"]["campaignCreate"]["campaign"]["id"]
    offer = ('mutation($c: ID!) { offerCreate(input: {campaignId: $c, offer: {kind: AMOUNT_OFF, value: "1000", '
             'codeMode: SHARED, sharedCode: "RACE-1", titleEn: "Race"}}) { offer { id } userErrors { field code } } }')
    results = await asyncio.gather(*(graphql(http, offer, shop["admin"], c=campaign) for _ in range(ATTEMPTS)))
    assert all("errors" not in r for r in results), results[:1]
    refused = [r["data"]["offerCreate"]["userErrors"] for r in results if r["data"]["offerCreate"]["userErrors"]]
    assert len(refused) == ATTEMPTS - 1 and all(e[0]["code"] == "TAKEN" for e in refused), refused
