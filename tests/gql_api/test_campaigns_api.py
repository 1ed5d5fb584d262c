"""Campaigns through the API on a real PostgreSQL: the walkthrough from a
segment to a launched cashback campaign, a mobile app fetching and redeeming
its offer, refunds, results; every state move; what may change when; the
scheduler's clock; budgets under concurrent checkouts; idempotent retries;
engagement events; and a real graphql-ws client receiving campaign.targeted."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select, update

from domain.campaigns.audience import bucket
from domain.db import unit_of_work
from domain.demo import build_demo
from domain.events import last_seq
from domain.scoring_pipeline import rescore_workspace
from domain.tables import campaign_assignments, campaigns, customers, offer_codes, offer_usage, redemptions
from domain.vocab import Role
from domain.workspaces import create_key
from gql_api.events.types import event_cursor
from gql_api.ids import from_global_id, to_global_id
from gql_api.scheduler import campaign_tick
from tests.gql_api.conftest import NODE, graphql, needs_node, npm_clients
from tests.helpers import new_workspace

CREATE = """mutation($input: CampaignCreateInput!) { campaignCreate(input: $input) {
  campaign { id status holdoutBasisPoints timeZone offers { id kind value codeMode } }
  userErrors { field code message } } }"""
MOVE = """mutation($id: ID!) { campaign%s(input: {id: $id}) { campaign { id status } userErrors { field code } } }"""
UPDATE = """mutation($input: CampaignUpdateInput!) { campaignUpdate(input: $input) {
  campaign { name holdoutBasisPoints budget { kind limit used } } userErrors { field code message } } }"""
CAMPAIGN = """query($id: ID!) { campaign(id: $id) { status updatedAt allowedMoves assigned
  budget { kind limit used remaining }
  audience { candidates fromSegments treatment holdout minimumDetectableEffect
             joined { policy customers } leftOut { reason policy customers explanation } }
  results { verdict minimumDetectableEffect conversionUplift { estimate low high }
            treatment { arm assigned conversions conversionRate } holdout { arm assigned conversions } } } }"""
TOKEN = "mutation($id: ID!) { customerTokenCreate(input: {customerId: $id}) { token } }"
ME = "{ me { offers { offerId kind value code status usesLeft expiresAt titleEn } } }"
VALIDATE = """query($input: OfferCheckInput!) { offerValidate(input: $input) {
  valid discount cashback eligibleAmount userErrors { field code message } } }"""
RESERVE = """mutation($input: RedemptionReserveInput!) { redemptionReserve(input: $input) {
  redemption { id status cashback discount code } replayed userErrors { field code message } } }"""
CONFIRM = """mutation($input: RedemptionConfirmInput!) { redemptionConfirm(input: $input) {
  redemption { id status } replayed userErrors { field code } } }"""
PURCHASE = """mutation($input: PurchaseRecordInput!) { purchaseRecord(input: $input) {
  purchase { id } userErrors { field code message } } }"""
EVENTS = """mutation($input: OfferEventsRecordInput!) { offerEventsRecord(input: $input) {
  recorded dropped userErrors { field code } } }"""
_NAMES = itertools.count()
CART = {"total": "2000000", "currency": "IRR"}


@pytest.fixture(scope="module")
def app_options() -> dict:
    # The walkthroughs send more requests a second than one key may by default;
    # the clock is run by the tests themselves.
    return {"rate_per_second": 10_000, "rate_burst": 10_000, "campaign_tick_seconds": None}


@pytest.fixture(scope="module")
async def store(engine):
    workspace = await new_workspace(engine, "camp")
    async with unit_of_work(engine) as conn:
        await build_demo(conn, workspace.id, 400, seed=3)
        keys = {role: (await create_key(conn, workspace.id, role))[0] for role in Role}
        keys["checkout"] = (await create_key(conn, workspace.id, Role.INTEGRATOR))[0]
    await rescore_workspace(engine, workspace.id)
    return workspace.id, keys


async def _ok(http, document, key, name, **variables):
    body = await graphql(http, document, key, **variables)
    assert "errors" not in body, body
    return body["data"][name]


async def _segments(http, key, prefix: str, count: int) -> list[str]:
    found = (await _ok(http, "{ segments(kinds: [BUILTIN]) { id key size } }", key, "segments"))
    return [s["id"] for s in sorted((s for s in found if s["key"].startswith(prefix)), key=lambda s: -s["size"])][:count]


async def _manual(http, key, customer_ids: list[str]) -> str:
    made = await _ok(http, 'mutation($n: String!) { segmentCreate(input: {name: $n, kind: MANUAL}) { segment { id } } }',
                     key, "segmentCreate", n=f"Few {next(_NAMES)}")
    segment = made["segment"]["id"]
    await _ok(http, "mutation($s: ID!, $c: [ID!]!) { segmentMembersAdd(input: {segmentId: $s, customerIds: $c}) "
                    "{ userErrors { code } } }", key, "segmentMembersAdd", s=segment, c=customer_ids)
    return segment


async def _create(http, key, **fields):
    fields.setdefault("offers", [{"kind": "NOTICE", "titleEn": "News"}])
    made = await _ok(http, CREATE, key, "campaignCreate", input={"name": "C", "channel": "IN_APP", **fields})
    assert made["userErrors"] == [], made
    return made["campaign"]


async def _move(http, key, move: str, campaign_id: str):
    return await _ok(http, MOVE % move, key, f"campaign{move}", id=campaign_id)


async def _customer_ids(engine, workspace_id: int, count: int) -> list[str]:
    async with unit_of_work(engine) as conn:
        return [to_global_id("Customer", pk) for pk in await conn.scalars(
            select(customers.c.id).where(customers.c.workspace_id == workspace_id).order_by(customers.c.id)
            .limit(count))]


async def _arms(engine, campaign_id: str) -> dict[str, list[int]]:
    async with unit_of_work(engine) as conn:
        rows = list(await conn.execute(select(campaign_assignments.c.customer_id, campaign_assignments.c.arm).where(
            campaign_assignments.c.campaign_id == from_global_id(campaign_id, "Campaign"))
            .order_by(campaign_assignments.c.customer_id)))
    return {arm: [pk for pk, a in rows if a == arm] for arm in ("treatment", "holdout")}


async def _app(http, keys, customer_pk: int, document: str, name: str, **variables):
    token = (await _ok(http, TOKEN, keys[Role.ADMIN], "customerTokenCreate",
                       id=to_global_id("Customer", customer_pk)))["token"]
    response = await http.post("/graphql", json={"query": document, "variables": variables},
                               headers={"Authorization": f"Bearer {keys[Role.APP]}", "X-Customer-Token": token})
    body = response.json()
    assert "errors" not in body, body
    return body["data"][name]


async def test_from_a_segment_to_a_redeemed_cashback_offer_and_its_results(http, engine, store):
    workspace_id, keys = store
    admin = keys[Role.ADMIN]
    segments = await _segments(http, admin, "rfm:", 3)
    made = await _create(http, keys[Role.ANALYST], name="Cashback for the loyal", objective="RETENTION",
                         channel="SMS", includeSegmentIds=segments, budget={"kind": "AMOUNT", "limit": "50000000"},
                         offers=[{"kind": "CASHBACK", "value": "10", "maxDiscount": "500000", "codeMode": "UNIQUE",
                                  "titleEn": "10% back", "titleFa": "۱۰٪ بازگشت وجه"}])
    assert made["status"] == "DRAFT" and made["holdoutBasisPoints"] == 1000 and made["timeZone"] == "Asia/Tehran"
    draft = await _ok(http, CAMPAIGN, admin, "campaign", id=made["id"])
    preview = draft["audience"]
    assert draft["results"] is None and draft["assigned"] == 0 and preview["treatment"] > 0
    assert set(draft["allowedMoves"]) == {"SCHEDULE", "LAUNCH", "ARCHIVE"}
    assert {x["reason"] for x in preview["leftOut"]} >= {"NO_CONSENT"}
    assert all(x["explanation"].startswith(f"{x['customers']:,} left out") for x in preview["leftOut"])

    launched = await _move(http, keys[Role.ANALYST], "Launch", made["id"])
    assert launched["userErrors"] == [] and launched["campaign"]["status"] == "RUNNING"
    running = await _ok(http, CAMPAIGN, admin, "campaign", id=made["id"])
    # The launch found what the preview said it would.
    assert running["audience"] == preview and running["assigned"] == preview["treatment"] + preview["holdout"]
    arms = await _arms(engine, made["id"])
    treated, held = arms["treatment"][0], arms["holdout"][0]
    untargeted = next(pk for pk in range(min(arms["treatment"]), 10**9)
                      if pk not in arms["treatment"] and pk not in arms["holdout"])

    # The app shows a treated customer their offer and code; a held-out one and an untargeted one see nothing.
    async with unit_of_work(engine) as conn:
        code = await conn.scalar(select(offer_codes.c.code).where(offer_codes.c.customer_id == treated))
    offers = await _app(http, keys, treated, ME, "me")
    offer_id = made["offers"][0]["id"]
    assert offers["offers"] == [{"offerId": offer_id, "kind": "CASHBACK", "value": "10.00", "code": code,
                                 "status": "AVAILABLE", "usesLeft": 1, "expiresAt": None, "titleEn": "10% back"}]
    assert (await _app(http, keys, held, ME, "me"))["offers"] == []
    assert (await _app(http, keys, untargeted, ME, "me"))["offers"] == []
    held_out = await _app(http, keys, held, VALIDATE, "offerValidate", input={"offerId": offer_id, "cart": CART})
    assert held_out["valid"] is False and held_out["userErrors"][0]["code"] == "NOT_ELIGIBLE"
    # A customer's code is theirs: another customer's app cannot use it.
    stolen = await _app(http, keys, arms["treatment"][1], VALIDATE, "offerValidate", input={"code": code, "cart": CART})
    assert stolen["userErrors"][0]["code"] == "NOT_FOUND"

    # Validate (nothing written), reserve, confirm with the purchase.
    checked = await _app(http, keys, treated, VALIDATE, "offerValidate", input={"code": code.lower(), "cart": CART})
    assert checked == {"valid": True, "discount": "0.00", "cashback": "200000.00", "eligibleAmount": "2000000",
                       "userErrors": []}
    reserved = await _app(http, keys, treated, RESERVE, "redemptionReserve",
                          input={"code": code, "cart": CART, "idempotencyKey": "order-1"})
    assert reserved["userErrors"] == [] and reserved["redemption"]["status"] == "RESERVED"
    assert (await _app(http, keys, treated, ME, "me"))["offers"][0]["status"] == "RESERVED"
    bought = await _ok(http, PURCHASE, admin, "purchaseRecord", input={
        "customerId": to_global_id("Customer", treated), "items": [{"product": "Rug", "amount": "2000000"}],
        "offerCode": code})
    assert bought["userErrors"] == []
    after = await _ok(http, CAMPAIGN, admin, "campaign", id=made["id"])
    assert after["budget"]["used"] == "200000.00"
    assert (await _app(http, keys, treated, ME, "me"))["offers"][0] | {"status": "USED_UP", "usesLeft": 0} == \
        (await _app(http, keys, treated, ME, "me"))["offers"][0]
    again = await _app(http, keys, treated, RESERVE, "redemptionReserve",
                       input={"code": code, "cart": CART, "idempotencyKey": "order-2"})
    assert again["userErrors"][0]["code"] == "CUSTOMER_LIMIT_REACHED"

    # The refund gives the use and the budget back.
    refund = await _ok(http, PURCHASE, admin, "purchaseRecord", input={
        "customerId": to_global_id("Customer", treated), "items": [{"product": "Rug", "amount": "-2000000"}],
        "refundOfId": bought["purchase"]["id"]})
    assert refund["userErrors"] == []
    assert (await _ok(http, CAMPAIGN, admin, "campaign", id=made["id"]))["budget"]["used"] == "0.00"
    assert (await _app(http, keys, treated, ME, "me"))["offers"][0]["usesLeft"] == 1
    async with unit_of_work(engine) as conn:
        status = await conn.scalar(select(redemptions.c.status).where(
            redemptions.c.id == from_global_id(reserved["redemption"]["id"], "Redemption")))
    assert status == "released"

    results = (await _ok(http, CAMPAIGN, admin, "campaign", id=made["id"]))["results"]
    assert results["treatment"]["assigned"] == preview["treatment"] and results["holdout"]["assigned"] == \
        preview["holdout"]
    assert results["treatment"]["conversions"] >= 1 and results["verdict"] in (
        "INSUFFICIENT_DATA", "INCONCLUSIVE", "POSITIVE", "NEGATIVE")


ALLOWED = {("DRAFT", "Schedule"): "SCHEDULED", ("DRAFT", "Launch"): "RUNNING", ("SCHEDULED", "Launch"): "RUNNING",
           ("RUNNING", "Pause"): "PAUSED", ("PAUSED", "Resume"): "RUNNING", ("RUNNING", "End"): "ENDED",
           ("PAUSED", "End"): "ENDED", ("DRAFT", "Archive"): "ARCHIVED", ("ENDED", "Archive"): "ARCHIVED"}
ROUTE = {"DRAFT": [], "SCHEDULED": ["Schedule"], "RUNNING": ["Launch"], "PAUSED": ["Launch", "Pause"],
         "ENDED": ["Launch", "End"], "ARCHIVED": ["Archive"]}


async def test_every_move_from_every_state_is_allowed_or_refused_with_nothing_changed(http, engine, store):
    workspace_id, keys = store
    admin = keys[Role.ADMIN]
    segment = await _manual(http, admin, await _customer_ids(engine, workspace_id, 5))
    starts = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    wrong = []
    for state, route in ROUTE.items():
        for move in ("Schedule", "Launch", "Pause", "Resume", "End", "Archive"):
            made = await _create(http, admin, includeSegmentIds=[segment], startsAt=starts)
            for step in route:
                assert (await _move(http, admin, step, made["id"]))["userErrors"] == []
            before = await _ok(http, CAMPAIGN, admin, "campaign", id=made["id"])
            assert before["status"] == state
            result = await _move(http, admin, move, made["id"])
            now = await _ok(http, CAMPAIGN, admin, "campaign", id=made["id"])
            target = ALLOWED.get((state, move))
            if target is None and not (result["userErrors"][0]["code"] == "INVALID_TRANSITION"
                                       and result["campaign"] is None and now == before):
                wrong.append(f"{state} {move}: {result}")
            if target is not None and not (result["userErrors"] == [] and now["status"] == target):
                wrong.append(f"{state} {move}: {result}")
            if (move.upper() in before["allowedMoves"]) != (target is not None):
                wrong.append(f"{state} allowedMoves {before['allowedMoves']}")
    assert wrong == []


async def test_what_may_change_depends_on_the_state(http, engine, store):
    workspace_id, keys = store
    admin = keys[Role.ADMIN]
    segment = await _manual(http, admin, await _customer_ids(engine, workspace_id, 5))
    made = await _create(http, admin, includeSegmentIds=[segment], budget={"kind": "COUNT", "limit": "5"})
    draft = await _ok(http, UPDATE, admin, "campaignUpdate", input={"id": made["id"], "holdoutBasisPoints": 2000})
    assert draft["userErrors"] == [] and draft["campaign"]["holdoutBasisPoints"] == 2000
    bad = await _ok(http, UPDATE, admin, "campaignUpdate", input={"id": made["id"], "holdoutBasisPoints": 9000,
                                                                  "name": "Renamed"})
    assert bad["userErrors"][0]["field"] == ["holdoutBasisPoints"] and bad["campaign"] is None
    assert (await _ok(http, "query($id: ID!) { campaign(id: $id) { name } }", admin, "campaign",
                      id=made["id"]))["name"] == "C"  # nothing of a refused update is written
    await _move(http, admin, "Launch", made["id"])
    frozen = await _ok(http, UPDATE, admin, "campaignUpdate", input={"id": made["id"], "holdoutBasisPoints": 500})
    assert frozen["userErrors"][0]["code"] == "READ_ONLY" and frozen["userErrors"][0]["field"] == ["holdoutBasisPoints"]
    for audience in ({"includeSegmentIds": []}, {"channel": "SMS"}, {"attributionDays": 3},
                     {"budget": {"kind": "AMOUNT", "limit": "10"}}):
        refused = await _ok(http, UPDATE, admin, "campaignUpdate", input={"id": made["id"], **audience})
        assert refused["userErrors"][0]["code"] == "READ_ONLY", audience
    live = await _ok(http, UPDATE, admin, "campaignUpdate", input={"id": made["id"], "name": "Live name",
                                                                   "budget": {"kind": "COUNT", "limit": "7"}})
    assert live["userErrors"] == [] and live["campaign"]["budget"] == {"kind": "COUNT", "limit": "7", "used": "0"}
    cleared = await _ok(http, UPDATE, admin, "campaignUpdate", input={"id": made["id"], "name": None})
    assert cleared["userErrors"][0] == {"field": ["name"], "code": "REQUIRED",
                                        "message": "cannot be null: leave it out to keep it"}
    offer = made["offers"][0]["id"]
    added = await _ok(http, "mutation($c: ID!) { offerCreate(input: {campaignId: $c, offer: {kind: NOTICE, "
                            'titleEn: "Late"}}) { userErrors { code } } }', admin, "offerCreate", c=made["id"])
    assert added["userErrors"][0]["code"] == "READ_ONLY"
    retitled = await _ok(http, 'mutation($o: ID!) { offerUpdate(input: {id: $o, titleEn: "Newer"}) '
                               '{ offer { titleEn } userErrors { code } } }', admin, "offerUpdate", o=offer)
    assert retitled == {"offer": {"titleEn": "Newer"}, "userErrors": []}
    rekinded = await _ok(http, 'mutation($o: ID!) { offerUpdate(input: {id: $o, kind: PERCENT_OFF, value: "5"}) '
                               '{ userErrors { field code } } }', admin, "offerUpdate", o=offer)
    assert rekinded["userErrors"][0]["code"] == "READ_ONLY"
    await _move(http, admin, "End", made["id"])
    ended = await _ok(http, UPDATE, admin, "campaignUpdate", input={"id": made["id"], "name": "After"})
    assert ended["userErrors"][0]["code"] == "READ_ONLY"
    # A segment a live campaign aims at cannot be deleted.
    other = await _create(http, admin, includeSegmentIds=[segment])
    deleted = await _ok(http, "mutation($s: ID!) { segmentDelete(input: {id: $s}) { userErrors { code message } } }",
                        admin, "segmentDelete", s=segment)
    assert deleted["userErrors"][0]["code"] == "CONFLICT"
    await _move(http, admin, "Archive", other["id"])


async def test_the_clock_launches_ends_and_expires(http, engine, store):
    workspace_id, keys = store
    admin = keys[Role.ADMIN]
    ids = await _customer_ids(engine, workspace_id, 3)
    segment = await _manual(http, admin, ids)
    starts = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    scheduled = await _create(http, admin, includeSegmentIds=[segment], startsAt=starts, holdoutBasisPoints=0,
                              offers=[{"kind": "AMOUNT_OFF", "value": "1000", "titleEn": "1000 off"}])
    assert (await _move(http, admin, "Schedule", scheduled["id"]))["userErrors"] == []
    pk = from_global_id(scheduled["id"], "Campaign")
    async with unit_of_work(engine) as conn:
        await conn.execute(update(campaigns).where(campaigns.c.id == pk)
                           .values(starts_at=datetime.now(UTC) - timedelta(minutes=1)))
    await campaign_tick(engine)
    assert (await _ok(http, CAMPAIGN, admin, "campaign", id=scheduled["id"]))["status"] == "RUNNING"
    customer = from_global_id(ids[0], "Customer")
    reserved = await _ok(http, RESERVE, admin, "redemptionReserve", input={
        "offerId": scheduled["offers"][0]["id"], "customerId": ids[0], "cart": CART, "idempotencyKey": "ttl-1",
        "ttlMinutes": 1})
    assert reserved["redemption"]["status"] == "RESERVED"
    async with unit_of_work(engine) as conn:
        await conn.execute(update(redemptions).where(redemptions.c.idempotency_key == "ttl-1")
                           .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        await conn.execute(update(campaigns).where(campaigns.c.id == pk)
                           .values(ends_at=datetime.now(UTC) - timedelta(seconds=1)))
    await campaign_tick(engine)
    assert (await _ok(http, CAMPAIGN, admin, "campaign", id=scheduled["id"]))["status"] == "ENDED"
    async with unit_of_work(engine) as conn:
        assert await conn.scalar(select(redemptions.c.status).where(redemptions.c.idempotency_key == "ttl-1")) == \
            "expired"
        assert await conn.scalar(select(offer_usage.c.used).where(offer_usage.c.customer_id == customer)) == 0
    late = await _ok(http, CONFIRM, admin, "redemptionConfirm", input={"idempotencyKey": "ttl-1"})
    assert late["userErrors"][0]["code"] == "RESERVATION_EXPIRED"


async def test_fifty_concurrent_checkouts_against_a_budget_of_ten(http, engine, store):
    workspace_id, keys = store
    key = keys["checkout"]
    ids = await _customer_ids(engine, workspace_id, 1)
    made = await _create(http, keys[Role.ADMIN], includeSegmentIds=[await _manual(http, keys[Role.ADMIN], ids)],
                         holdoutBasisPoints=0, budget={"kind": "COUNT", "limit": "10"},
                         offers=[{"kind": "PERCENT_OFF", "value": "5", "perCustomerLimit": None, "titleEn": "5%"}])
    await _move(http, keys[Role.ADMIN], "Launch", made["id"])
    offer = made["offers"][0]["id"]

    async def checkout(i: int):
        return await _ok(http, RESERVE, key, "redemptionReserve", input={
            "offerId": offer, "customerId": ids[0], "cart": CART, "idempotencyKey": f"race-{i}"})

    results = await asyncio.gather(*(checkout(i) for i in range(50)))
    taken = [r["redemption"]["id"] for r in results if r["redemption"]]
    codes = sorted(r["userErrors"][0]["code"] for r in results if r["userErrors"])
    assert len(taken) == 10 and codes == ["BUDGET_EXHAUSTED"] * 40
    confirmed = await asyncio.gather(*(_ok(http, CONFIRM, key, "redemptionConfirm", input={"id": i}) for i in taken))
    assert [c["redemption"]["status"] for c in confirmed] == ["CONFIRMED"] * 10
    state = await _ok(http, CAMPAIGN, key, "campaign", id=made["id"])
    assert state["budget"] == {"kind": "COUNT", "limit": "10", "used": "10", "remaining": "0"}
    async with unit_of_work(engine) as conn:
        assert await conn.scalar(select(func.count()).select_from(redemptions).where(
            redemptions.c.offer_id == from_global_id(offer, "Offer"))) == 10


async def test_a_retried_reservation_has_one_effect_and_a_reused_key_is_refused(http, engine, store):
    workspace_id, keys = store
    admin = keys[Role.ADMIN]
    ids = await _customer_ids(engine, workspace_id, 1)
    made = await _create(http, admin, includeSegmentIds=[await _manual(http, admin, ids)], holdoutBasisPoints=0,
                         offers=[{"kind": "AMOUNT_OFF", "value": "50000", "perCustomerLimit": 3, "titleEn": "Off"}])
    await _move(http, admin, "Launch", made["id"])
    request = {"offerId": made["offers"][0]["id"], "customerId": ids[0], "cart": CART, "idempotencyKey": "same"}
    first = await _ok(http, RESERVE, admin, "redemptionReserve", input=request)
    second = await _ok(http, RESERVE, admin, "redemptionReserve", input=request)
    assert first["replayed"] is False and second["replayed"] is True
    assert second["redemption"] == first["redemption"] and first["redemption"]["discount"] == "50000.00"
    other = await _ok(http, RESERVE, admin, "redemptionReserve", input=request | {"cart": {**CART, "total": "9"}})
    assert other["userErrors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED" and other["redemption"] is None
    async with unit_of_work(engine) as conn:
        assert await conn.scalar(select(func.sum(offer_usage.c.used)).where(
            offer_usage.c.offer_id == from_global_id(request["offerId"], "Offer"))) == 1
    release = 'mutation($k: String!) { redemptionRelease(input: {idempotencyKey: $k}) { redemption { status } ' \
              'replayed } }'
    assert await _ok(http, release, admin, "redemptionRelease", k="same") == {
        "redemption": {"status": "RELEASED"}, "replayed": False}
    assert (await _ok(http, release, admin, "redemptionRelease", k="same"))["replayed"] is True
    async with unit_of_work(engine) as conn:
        assert await conn.scalar(select(func.sum(offer_usage.c.used)).where(
            offer_usage.c.offer_id == from_global_id(request["offerId"], "Offer"))) == 0


async def test_engagement_events_are_idempotent_and_apps_report_only_their_own(http, engine, store):
    workspace_id, keys = store
    admin = keys[Role.ADMIN]
    ids = await _customer_ids(engine, workspace_id, 2)
    made = await _create(http, admin, includeSegmentIds=[await _manual(http, admin, ids)], holdoutBasisPoints=0)
    await _move(http, admin, "Launch", made["id"])
    sent = [{"eventId": f"sms-{i}", "kind": "SENT", "campaignId": made["id"], "customerId": c}
            for i, c in enumerate(ids)]
    assert await _ok(http, EVENTS, keys[Role.INTEGRATOR], "offerEventsRecord", input={"events": sent}) == {
        "recorded": 2, "dropped": 0, "userErrors": []}
    assert (await _ok(http, EVENTS, keys[Role.INTEGRATOR], "offerEventsRecord", input={"events": sent}))[
        "dropped"] == 2
    me = from_global_id(ids[0], "Customer")
    viewed = await _app(http, keys, me, EVENTS, "offerEventsRecord", input={"events": [
        {"eventId": "app-1", "kind": "VIEWED", "offerId": made["offers"][0]["id"]}]})
    assert viewed == {"recorded": 1, "dropped": 0, "userErrors": []}
    for wrong in ({"kind": "SENT", "campaignId": made["id"]},
                  {"kind": "CLICKED", "campaignId": made["id"], "customerId": ids[1]}):
        refused = await _app(http, keys, me, EVENTS, "offerEventsRecord",
                             input={"events": [{"eventId": "app-2", **wrong}]})
        assert refused["recorded"] == 0 and refused["userErrors"], wrong


@needs_node
async def test_the_npm_graphql_ws_client_receives_campaign_targeted_events(api_url, http, engine, store):
    workspace_id, keys = store
    admin = keys[Role.ADMIN]
    ids = await _customer_ids(engine, workspace_id, 12)
    made = await _create(http, admin, includeSegmentIds=[await _manual(http, admin, ids)], holdoutBasisPoints=2000,
                         policies=[], offers=[{"kind": "PERCENT_OFF", "value": "10", "codeMode": "UNIQUE",
                                               "titleEn": "10%"}])
    async with unit_of_work(engine) as conn:
        start = event_cursor(await last_seq(conn, workspace_id))
    await _move(http, admin, "Launch", made["id"])
    treated = (await _arms(engine, made["id"]))["treatment"]
    salt = f"{from_global_id(made['id'], 'Campaign')}:"
    assert treated == sorted(from_global_id(c, "Customer") for c in ids if bucket(salt, from_global_id(c, "Customer"))
                             >= 2000)
    query = ("subscription($ids: [ID!], $after: String) { campaignTargeted(campaignIds: $ids, after: $after) "
             "{ eventId campaignId customerId channel offerIds codes { offerId code } } }")
    ws = api_url.replace("http://", "ws://") + "/graphql"
    process = await asyncio.create_subprocess_exec(
        NODE, str(npm_clients() / "subscribe.mjs"), ws, keys[Role.INTEGRATOR], query,
        json.dumps({"ids": [made["id"]], "after": start}), str(len(treated)),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env={**os.environ})
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    got = [json.loads(line)["campaignTargeted"] for line in out.decode().splitlines()]
    assert sorted(from_global_id(e["customerId"], "Customer") for e in got) == treated
    assert all(e["campaignId"] == made["id"] and e["channel"] == "IN_APP" and len(e["codes"]) == 1
               and e["codes"][0]["offerId"] == made["offers"][0]["id"] for e in got)
