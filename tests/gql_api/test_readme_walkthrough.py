"""The README's campaign walkthrough, run as written against a scored demo
store: every GraphQL block of the section validates against the schema, and
each named operation, run in the README's order with the ids the previous
answers gave, returns data and no errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import parse, print_ast, validate
from sqlalchemy import select

from domain.campaigns.demo import add_finished_campaign
from domain.db import unit_of_work
from domain.demo import build_demo
from domain.scoring_pipeline import rescore_workspace
from domain.tables import campaign_assignments, customers, offer_codes, redemptions
from domain.vocab import Role
from domain.workspaces import create_key
from gql_api.ids import from_global_id, to_global_id
from gql_api.schema import schema
from tests.gql_api.conftest import graphql
from tests.helpers import new_workspace

README = Path(__file__).parents[2] / "README.md"
SECTION = "## Campaigns and offers"


def _section_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.index("\n## ", start + len(SECTION))
    return re.findall(r"```graphql\n(.*?)```", text[start:end], re.S)


def _operations() -> dict[str, str]:
    """Each named operation of the section, as a document of its own."""
    found = {}
    for block in _section_blocks():
        for definition in parse(block).definitions:
            if definition.name is not None:
                found[definition.name.value] = print_ast(definition)
    return found


@pytest.fixture(scope="module")
def app_options() -> dict:
    return {"rate_per_second": 10_000, "rate_burst": 10_000, "campaign_tick_seconds": None}


@pytest.fixture(scope="module")
async def demo(engine):
    workspace = await new_workspace(engine, "readme")
    async with unit_of_work(engine) as conn:
        await build_demo(conn, workspace.id, 2000, seed=7)
        keys = {role: (await create_key(conn, workspace.id, role))[0] for role in Role}
    await rescore_workspace(engine, workspace.id)
    async with unit_of_work(engine, workspace.id) as conn:
        assert await add_finished_campaign(conn, workspace.id, to_global_id) is not None
    return workspace.id, keys


def test_every_graphql_block_of_the_section_validates_against_the_schema():
    blocks = _section_blocks()
    assert len(blocks) >= 10
    for block in blocks:
        assert validate(schema._schema, parse(block)) == [], block


async def _run(http, operations, name: str, key: str, token: str | None = None, **variables) -> dict:
    headers = {"Authorization": f"Bearer {key}"} | ({"X-Customer-Token": token} if token else {})
    response = await http.post("/graphql", json={"query": operations[name], "variables": variables},
                               headers=headers)
    body = response.json()
    assert "errors" not in body, (name, body)
    for value in body["data"].values():
        assert value not in (None, [], {}), (name, body)
        if isinstance(value, dict) and "userErrors" in value:
            assert value["userErrors"] == [], (name, body)
    return body["data"]


async def test_the_walkthrough_from_customers_at_risk_to_results(http, engine, demo):
    workspace_id, keys = demo
    ops = _operations()
    analyst, admin, integrator, app = keys[Role.ANALYST], keys[Role.ADMIN], keys[Role.INTEGRATOR], keys[Role.APP]

    at_risk = (await _run(http, ops, "AtRisk", analyst))["previewSegment"]
    assert at_risk["size"] > 0 and at_risk["sample"]
    segment = (await _run(http, ops, "SaveSegment", analyst))["segmentCreate"]["segment"]
    assert segment["size"] == at_risk["size"]
    made = (await _run(http, ops, "CreateCampaign", analyst, segment=segment["id"]))["campaignCreate"]["campaign"]
    assert made["status"] == "DRAFT" and made["timeZone"] == "Asia/Tehran"
    audience = (await _run(http, ops, "Audience", analyst, campaign=made["id"]))["campaign"]["audience"]
    assert audience["treatment"] > 0 and audience["leftOut"]
    launched = (await _run(http, ops, "Launch", analyst, campaign=made["id"]))["campaignLaunch"]["campaign"]
    assert launched["status"] == "RUNNING" and launched["assigned"] == audience["treatment"] + audience["holdout"]

    async with unit_of_work(engine) as conn:
        treated = await conn.scalar(select(campaign_assignments.c.customer_id).where(
            campaign_assignments.c.campaign_id == from_global_id(made["id"], "Campaign"),
            campaign_assignments.c.arm == "treatment").order_by(campaign_assignments.c.customer_id).limit(1))
        code = await conn.scalar(select(offer_codes.c.code).where(
            offer_codes.c.customer_id == treated, offer_codes.c.workspace_id == workspace_id,
            offer_codes.c.offer_id == from_global_id(made["offers"][0]["id"], "Offer")))
        assert await conn.scalar(select(customers.c.consent_sms).where(customers.c.id == treated))
    customer = to_global_id("Customer", treated)
    assert (await _run(http, ops, "Delivered", integrator, campaign=made["id"], customer=customer))[
        "offerEventsRecord"]["recorded"] == 1

    token = (await _run(http, ops, "Token", integrator, customer=customer))["customerTokenCreate"]["token"]
    offers = (await _run(http, ops, "MyOffers", app, token))["me"]["offers"]
    assert [(o["kind"], o["code"], o["status"]) for o in offers] == [("CASHBACK", code, "AVAILABLE")]
    checked = (await _run(http, ops, "CheckOffer", app, token, code=code))["offerValidate"]
    assert checked["valid"] and checked["cashback"] == "850000.00"
    reserved = (await _run(http, ops, "Reserve", app, token, code=code))["redemptionReserve"]["redemption"]
    assert reserved["status"] == "RESERVED"
    await _run(http, ops, "Purchase", admin, customer=customer, code=code)
    async with unit_of_work(engine) as conn:
        assert await conn.scalar(select(redemptions.c.status).where(
            redemptions.c.id == from_global_id(reserved["id"], "Redemption"))) == "confirmed"

    found = (await _run(http, ops, "Results", analyst, campaign=made["id"]))["campaign"]
    assert found["budget"]["used"] == "850000.00"
    assert found["results"]["treatment"]["assigned"] == audience["treatment"]
    assert found["results"]["treatment"]["conversions"] >= 1 and found["results"]["treatment"]["reached"] == 1

    ended = (await _run(http, ops, "DemoCampaign", analyst))["campaigns"]["edges"]
    results = ended[0]["node"]["results"]
    assert ended[0]["node"]["name"] == "Win back customers at risk" and results["conversionUplift"] is not None
    assert results["treatment"]["assigned"] > results["holdout"]["assigned"] > 0


async def test_the_policy_example_replaces_the_workspaces_policies(http, demo):
    _, keys = demo
    block = next(b for b in _section_blocks() if "customerTypePolicySet" in b)
    body = await graphql(http, block, keys[Role.ADMIN])
    assert "errors" not in body, body
    policies = body["data"]["customerTypePolicySet"]["policies"]
    assert [p["label"] for p in policies] == ["CHURNER", "BARGAINER", "TRIBE"]
