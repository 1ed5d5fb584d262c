"""purchaseRecord and interactionRecord over HTTP: the customer is rescored in
the same request, retries are idempotent, and bad input gets typed errors."""

import pytest
from sqlalchemy import func, select

from domain.db import unit_of_work
from domain.tables import customers, interactions, purchases
from gql_api.ids import to_global_id
from tests.gql_api.conftest import graphql
from tests.helpers import new_workspace

RECORD_PURCHASE = """
mutation Record($input: PurchaseRecordInput!) {
  purchaseRecord(input: $input) {
    purchase { id total currency items { product amount } }
    customer { scores { purchaseCount computedAt clv rfm { segment } loyalty { index } } }
    replayed
    userErrors { field code message }
  }
}"""
RECORD_INTERACTION = """
mutation Record($input: InteractionRecordInput!) {
  interactionRecord(input: $input) {
    interaction { id kind staffMinutes score }
    customer { scores { evidence customerType } }
    replayed
    userErrors { field code message }
  }
}"""
SCORES = "query One($id: ID!) { customer(id: $id) { scores { purchaseCount computedAt } } }"


def _purchase(customer, **extra):
    return {"customerId": customer, "items": [{"product": "کتاب", "category": "books", "amount": "1250000"},
                                              {"product": "pen", "amount": "50000", "quantity": "2"}], **extra}


async def test_a_recorded_purchase_rescores_the_customer_in_the_same_request(http, shop):
    before = (await graphql(http, SCORES, shop["admin"], id=shop["buyer"]))["data"]["customer"]["scores"]
    body = await graphql(http, RECORD_PURCHASE, shop["admin"], input=_purchase(shop["buyer"]))
    result = body["data"]["purchaseRecord"]
    assert result["userErrors"] == [] and not result["replayed"]
    assert result["purchase"]["total"] == "1300000.00" and result["purchase"]["currency"] == "IRR"
    after = result["customer"]["scores"]
    assert after["purchaseCount"] == before["purchaseCount"] + 1
    assert after["computedAt"] > before["computedAt"]


async def _purchases_of(engine, shop) -> int:
    async with unit_of_work(engine) as conn:
        return await conn.scalar(select(func.count()).where(purchases.c.workspace_id == shop["workspace"].id))


async def test_a_retried_purchase_is_stored_once(http, engine, shop):
    payload = _purchase(shop["buyer"], idempotencyKey="order-77")
    before = await _purchases_of(engine, shop)
    first = (await graphql(http, RECORD_PURCHASE, shop["admin"], input=payload))["data"]["purchaseRecord"]
    again = (await graphql(http, RECORD_PURCHASE, shop["admin"], input=payload))["data"]["purchaseRecord"]
    assert again["replayed"] and again["purchase"]["id"] == first["purchase"]["id"]
    assert await _purchases_of(engine, shop) == before + 1
    reused = await graphql(http, RECORD_INTERACTION, shop["admin"],
                           input={"customerId": shop["buyer"], "kind": "COMPLAINT", "idempotencyKey": "order-77"})
    assert reused["data"]["interactionRecord"]["userErrors"][0]["code"] == "CONFLICT"


@pytest.mark.parametrize(("change", "field", "code"), [
    ({"items": [{"product": "x", "amount": "10", "quantity": "-2"}]}, ["items", "0", "quantity"], "NEGATIVE"),
    ({"items": []}, ["items"], "REQUIRED"),
    ({"purchasedAt": "2999-01-01T00:00:00+00:00"}, ["purchasedAt"], "INVALID_DATE"),
    ({"customerId": "not-an-id"}, ["customerId"], "INVALID"),
    ({"customerId": to_global_id("Customer", 10**12)}, ["customerId"], "NOT_FOUND"),
    ({"discount": "-5"}, ["discount"], "NEGATIVE"),
    ({"currency": "rials"}, ["currency"], "INVALID"),
    ({"items": [{"product": "x" * 600, "amount": "10"}]}, ["items", "0", "product"], "TOO_LONG"),
    ({"items": [{"product": "a", "amount": "10"}, {"product": "b", "amount": "-10"}]}, ["items"], "INVALID"),
    # Beyond the columns (numeric(20, 2) money, numeric(14, 3) quantities): each was an "Internal error."
    ({"discount": "1e30"}, ["discount"], "INVALID"),
    ({"total": "10", "items": [{"product": "x", "amount": "1e30"}]}, ["items", "0", "amount"], "INVALID"),
    ({"items": [{"product": "x", "amount": "10", "quantity": "1e20"}]}, ["items", "0", "quantity"], "INVALID"),
])
async def test_bad_purchases_get_typed_errors_and_store_nothing(http, engine, shop, change, field, code):
    async with unit_of_work(engine) as conn:
        before = await conn.scalar(select(func.count()).where(purchases.c.workspace_id == shop["workspace"].id))
    body = await graphql(http, RECORD_PURCHASE, shop["admin"], input={**_purchase(shop["buyer"]), **change})
    result = body["data"]["purchaseRecord"]
    assert result["purchase"] is None
    assert [(e["field"], e["code"]) for e in result["userErrors"]] == [(field, code)]
    async with unit_of_work(engine) as conn:
        after = await conn.scalar(select(func.count()).where(purchases.c.workspace_id == shop["workspace"].id))
    assert after == before


async def test_wrong_enum_is_a_graphql_error(http, shop):
    body = await graphql(http, RECORD_PURCHASE, shop["admin"], input=_purchase(shop["buyer"], channel="TELEPATHY"))
    assert body.get("data") is None and "TELEPATHY" in body["errors"][0]["message"]


async def test_an_agent_records_interactions_but_not_purchases(http, shop):
    denied = await graphql(http, RECORD_PURCHASE, shop["agent"], input=_purchase(shop["buyer"]))
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await graphql(http, RECORD_INTERACTION, shop["agent"],
                         input={"customerId": shop["buyer"], "kind": "SUPPORT_REQUEST", "staffMinutes": "45"})
    result = body["data"]["interactionRecord"]
    assert result["userErrors"] == [] and result["interaction"]["kind"] == "SUPPORT_REQUEST"
    assert result["customer"]["scores"]["evidence"]["staff_minutes"] >= 45


@pytest.mark.parametrize(("change", "field", "code"), [
    ({"kind": "SURVEY"}, ["score"], "INVALID"),
    ({"kind": "SURVEY", "score": 11}, ["score"], "INVALID"),
    ({"kind": "COMPLAINT", "score": 5}, ["score"], "INVALID"),
    ({"kind": "COMPLAINT", "staffMinutes": "-1"}, ["staffMinutes"], "INVALID"),
    ({"kind": "COMPLAINT", "referredCustomerId": to_global_id("Customer", 1)}, ["referredCustomerId"], "INVALID"),
])
async def test_bad_interactions_get_typed_errors(http, engine, shop, change, field, code):
    async with unit_of_work(engine) as conn:
        before = await conn.scalar(select(func.count()).where(interactions.c.workspace_id == shop["workspace"].id))
    body = await graphql(http, RECORD_INTERACTION, shop["agent"], input={"customerId": shop["buyer"], **change})
    result = body["data"]["interactionRecord"]
    assert [(e["field"], e["code"]) for e in result["userErrors"]] == [(field, code)]
    async with unit_of_work(engine) as conn:
        assert await conn.scalar(select(func.count()).where(
            interactions.c.workspace_id == shop["workspace"].id)) == before


async def test_another_workspaces_customer_cannot_be_written_to(http, engine, shop):
    other = await new_workspace(engine)
    async with unit_of_work(engine) as conn:
        theirs = await conn.scalar(customers.insert().values(workspace_id=other.id, first_name="x")
                                   .returning(customers.c.id))
    body = await graphql(http, RECORD_PURCHASE, shop["admin"], input=_purchase(to_global_id("Customer", theirs)))
    assert body["data"]["purchaseRecord"]["userErrors"][0]["code"] == "NOT_FOUND"


async def test_the_models_and_their_quality_report_are_reachable(http, shop):
    body = await graphql(http, "{ scoringModels { bgnbd { params diagnostics } gammaGamma { params } "
                               "quality { params } } }", shop["agent"])
    models = body["data"]["scoringModels"]
    assert set(models["bgnbd"]["params"]) >= {"r", "alpha", "a", "b"} and models["bgnbd"]["diagnostics"]["converged"]
    assert set(models["gammaGamma"]["params"]) == {"p", "q", "v"}
    assert models["quality"]["params"]["by_frequency"]


async def test_events_name_records_by_the_apis_global_ids(http, shop):
    """The change feed once said `purchaseId: 186244` where every answer gives `UHVyY2hhc2U6...`."""
    recorded = await graphql(http, RECORD_PURCHASE, shop["admin"], input=_purchase(shop["buyer"]))
    purchase = recorded["data"]["purchaseRecord"]["purchase"]["id"]
    feed = await graphql(http, "{ customerChanges(first: 1000) { edges { node { change details } } } }", shop["admin"])
    details = [e["node"]["details"] for e in feed["data"]["customerChanges"]["edges"]
               if e["node"]["change"] == "PURCHASE_RECORDED"]
    assert details[-1]["purchaseId"] == purchase


# Not finite (NaN, Infinity, sNaN), or more decimal places than PostgreSQL's numeric holds: each was an
# "Internal error." (a NaN cannot be compared, the driver cannot encode 1e-999999).
@pytest.mark.parametrize("amount", ["abc", "1e", "", "NaN", "Infinity", "-Infinity", "sNaN", "1e-999999"])
async def test_a_value_not_of_its_type_is_bad_user_input_before_anything_runs(http, shop, amount):
    """Documented in the README: type errors are GraphQL errors with a code; business refusals are userErrors."""
    body = await graphql(http, RECORD_PURCHASE, shop["admin"], input=_purchase(shop["buyer"]) | {
        "items": [{"product": "tea", "amount": amount}]})
    assert "data" not in body and body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
    unknown = await graphql(http, "{ viewer { nope } }", shop["admin"])
    assert unknown["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
