"""Campaigns: launching at scale, the mobile app's offers, checkouts against one budget.

    .venv/bin/python bench/bench_campaigns.py [--launch-customers 1000000] [--customers 20000]
                                              [--seconds 10] [--connections 20] [--budget 1000]
                                              [--workers 2] [--only launch,offers,redemptions]

Needs `wrk` (Debian: apt-get install wrk) for parts 2 and 3.

1. Launch: a fresh database gets --launch-customers customers with scores and
   one segment holding them all (generated in SQL: only the launch is timed).
   A campaign with a UNIQUE-code PERCENT_OFF offer and the default policies is
   previewed, then launched: audience materialised, consent and policies,
   holdout split, one assignment per customer, a code and a campaign.targeted
   event per treated customer, all in the launch's one transaction. Median of
   3 launches (each a new campaign over the same customers).
2. me { offers }: the --customers demo store, scored, with a running campaign
   of three offers aimed at its RFM segments; `tribe serve --workers N`; wrk
   asks for random treated customers (APP key and a customer token each), over
   1 connection (the latency of one client) and 10 (the throughput), for
   --seconds each after a 3 s warm-up.
3. Redemptions: the same server; wrk keeps --connections checkouts in flight
   for --seconds, each a redemptionReserve with a new idempotency key for a
   random treated customer, all against one offer whose campaign has a COUNT
   budget of --budget. Counted afterwards in the database: redemptions held,
   the budget's `used`, and overruns (budget used beyond its limit, or more
   redemptions than the limit), which must be zero; the reservations a
   second are those wrk saw answered (refusals once the budget is spent
   included: each is checked the same way).

Prints tables and writes bench/results/campaigns.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select, text

from domain.campaigns import lifecycle
from domain.campaigns.audience import preview, targeting_for
from domain.campaigns.campaigns import CampaignInput, create_campaign
from domain.campaigns.offers import OfferTerms
from domain.customer_tokens import sign, workspace_secret
from domain.db import unit_of_work
from domain.demo import build_demo
from domain.scoring_pipeline import rescore_workspace
from domain.tables import campaign_assignments, campaigns, redemptions, segments
from domain.vocab import BudgetKind, CampaignChannel, CodeMode, OfferKind, Role, SegmentKind
from domain.workspaces import create_key, create_workspace
from gql_api.ids import to_global_id
from serving import run_wrk, scratch_database, tribe_server, write_results

PERCENT = OfferTerms(kind=OfferKind.PERCENT_OFF, value=10, code_mode=CodeMode.UNIQUE, title_en="10% off")
ME = "{ me { offers { offerId kind value code status usesLeft expiresAt titleEn } } }"
RESERVE = ("mutation($input: RedemptionReserveInput!) { redemptionReserve(input: $input) { redemption { id } "
           "userErrors { code } } }")
WARM_UP_SECONDS = 3
TYPES = "ARRAY['tribe','vampire','churner','snow_leopard','standard']"


async def populate(engine, workspace_id: int, n: int) -> int:
    """n customers (70% with SMS consent and a phone), scores, and a segment of them all."""
    async with unit_of_work(engine) as conn:
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        await conn.execute(text(
            "INSERT INTO customers (workspace_id, first_name, consent_sms, phone_e164) SELECT :w, 'C', g % 10 < 7, "
            "'+98912' || lpad(g::text, 7, '0') FROM generate_series(1, :n) g"), {"w": workspace_id, "n": n})
        await conn.execute(text(f"""
            INSERT INTO customer_scores (workspace_id, customer_id, purchase_count, frequency, recency, tenure,
                monetary, total_spend, clv, probability_alive, customer_type, lifecycle_stage, rfm_segment)
            SELECT :w, id, 3, 2, 10, 300, 1e6, 3e6, 5e6, 0.8, ({TYPES})[1 + id % 5], 'active', 'champions'
            FROM customers WHERE workspace_id = :w"""), {"w": workspace_id})
        segment = await conn.scalar(text(
            "INSERT INTO segments (workspace_id, key, name, kind) VALUES (:w, 'everyone', 'Everyone', :kind) "
            "RETURNING id"), {"w": workspace_id, "kind": SegmentKind.MANUAL.value})
        await conn.execute(text(
            "INSERT INTO segment_memberships (workspace_id, segment_id, customer_id, entered_at) "
            "SELECT :w, :s, id, now() FROM customers WHERE workspace_id = :w"), {"w": workspace_id, "s": segment})
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE"))
    return segment


async def bench_launch(n: int) -> dict:
    async with scratch_database("bench_launch") as (_, engine):
        async with unit_of_work(engine) as conn:
            workspace = await create_workspace(conn, "launch")
        started = time.perf_counter()
        segment = await populate(engine, workspace.id, n)
        print(f"{n:,} customers ready in {time.perf_counter() - started:.0f} s", flush=True)
        runs = []
        for i in range(3):
            async with unit_of_work(engine, workspace.id) as conn:
                row = await create_campaign(conn, workspace.id, CampaignInput(
                    name=f"Launch {i}", channel=CampaignChannel.SMS, include_segment_ids=[segment]), [PERCENT])
            async with unit_of_work(engine, workspace.id) as conn:
                t = time.perf_counter()
                report = await preview(conn, await targeting_for(conn, row, global_id=to_global_id))
                previewed = time.perf_counter() - t
            async with unit_of_work(engine, workspace.id) as conn:
                t = time.perf_counter()
                launched = await lifecycle.launch(conn, workspace.id, row.id, to_global_id)
            launch_seconds = time.perf_counter() - t  # the commit included
            runs.append({"preview_s": previewed, "launch_s": launch_seconds, "treatment": report.treatment,
                         "holdout": report.holdout, "left_out": sum(x[2] for x in report.left_out)})
            assert launched.audience_report["treatment"] == report.treatment
        median = {k: statistics.median(r[k] for r in runs) for k in ("preview_s", "launch_s")}
        print(f"{'customers':>10} {'treated':>9} {'holdout':>8} {'left out':>9} {'preview s':>10} {'launch s':>9}")
        print(f"{n:>10,} {runs[0]['treatment']:>9,} {runs[0]['holdout']:>8,} {runs[0]['left_out']:>9,} "
              f"{median['preview_s']:>10.2f} {median['launch_s']:>9.2f}", flush=True)
        return {"customers": n, "runs": runs, "median": median}


async def prepare_store(engine, n: int) -> dict:
    async with unit_of_work(engine) as conn:
        workspace = await create_workspace(conn, "offers")
        await build_demo(conn, workspace.id, n, seed=7)
        app, _ = await create_key(conn, workspace.id, Role.APP, "bench")
        integrator, _ = await create_key(conn, workspace.id, Role.INTEGRATOR, "bench")
    await rescore_workspace(engine, workspace.id)
    async with unit_of_work(engine, workspace.id) as conn:
        include = list(await conn.scalars(select(segments.c.id).where(
            segments.c.workspace_id == workspace.id, segments.c.key.startswith("rfm:"))))
        offers = [PERCENT, OfferTerms(kind=OfferKind.CASHBACK, value=5, title_en="5% back"),
                  OfferTerms(kind=OfferKind.FREE_SHIPPING, title_en="Free delivery")]
        row = await create_campaign(conn, workspace.id, CampaignInput(
            name="Offers", channel=CampaignChannel.IN_APP, include_segment_ids=include), offers)
        await lifecycle.launch(conn, workspace.id, row.id, to_global_id)
        treated = list(await conn.scalars(select(campaign_assignments.c.customer_id).where(
            campaign_assignments.c.campaign_id == row.id, campaign_assignments.c.arm == "treatment")))
        secret = await workspace_secret(conn, workspace.id)
        now = datetime.now(UTC)
        tokens = [sign(secret, workspace.id, to_global_id("Customer", pk), now, timedelta(hours=2))
                  for pk in random.Random(3).sample(treated, min(1000, len(treated)))]
        budget = await create_campaign(conn, workspace.id, CampaignInput(
            name="Budget", channel=CampaignChannel.IN_APP, include_segment_ids=include, holdout_bp=0, policies=[],
            budget_kind=BudgetKind.COUNT, budget_limit=1), [OfferTerms(kind=OfferKind.AMOUNT_OFF, value=1000,
                                                                      per_customer_limit=None, title_en="1000 off")])
        await lifecycle.launch(conn, workspace.id, budget.id, to_global_id)
        offer = await conn.scalar(text("SELECT id FROM offers WHERE campaign_id = :c"), {"c": budget.id})
        buyers = list(await conn.scalars(select(campaign_assignments.c.customer_id).where(
            campaign_assignments.c.campaign_id == budget.id).order_by(campaign_assignments.c.customer_id).limit(1000)))
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE"))
    return {"workspace": workspace.id, "app": app, "integrator": integrator, "tokens": tokens,
            "treated": len(treated), "budget_campaign": budget.id, "offer": to_global_id("Offer", offer),
            "buyers": [to_global_id("Customer", pk) for pk in buyers]}


ME_LUA = """
local tokens = {%(tokens)s}
local body = %(body)s
wrk.method = "POST"
request = function()
  return wrk.format(nil, nil, {["Content-Type"] = "application/json", ["Authorization"] = "Bearer %(key)s",
                               ["X-Customer-Token"] = tokens[math.random(#tokens)]}, body)
end
"""
RESERVE_LUA = """
local customers = {%(customers)s}
local query = %(query)s
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(key)s"
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, '{"query":' .. query .. ',"variables":{"input":{"offerId":"%(offer)s",'
    .. '"customerId":"' .. customers[math.random(#customers)] .. '","cart":{"total":"100000","currency":"IRR"},'
    .. '"idempotencyKey":"%(run)s-' .. n .. '"}}}')
end
"""


def _lua_list(values: list[str]) -> str:
    return ",".join(f'"{v}"' for v in values)


def _row(label: str, connections: int, run: dict) -> None:
    print(f"{label:<16} {connections:>5} {run['requests_per_second']:>8,.0f} {run['p50']:>8.2f} {run['p95']:>8.2f} "
          f"{run['p99']:>8.2f} {run['non2xx'] + run['socket_errors']:>8}", flush=True)


def bench_offers(url: str, store: dict, seconds: int) -> dict:
    body = httpx.post(url, json={"query": ME}, headers={"Authorization": f"Bearer {store['app']}",
                                                        "X-Customer-Token": store["tokens"][0]}).json()
    if "errors" in body or not body["data"]["me"]["offers"]:
        raise SystemExit(f"me {{ offers }} fails or shows nothing: {body}")
    script = ME_LUA % {"tokens": _lua_list(store["tokens"]), "body": json.dumps(json.dumps({"query": ME})),
                       "key": store["app"]}
    run_wrk(url, script, 10, WARM_UP_SECONDS)  # not recorded
    runs = {}
    for connections in (1, 10):
        runs[connections] = run_wrk(url, script, connections, seconds)
        _row("me { offers }", connections, runs[connections])
    return runs


async def bench_redemptions(url: str, engine, store: dict, connections: int, seconds: int, budget: int) -> dict:
    async with unit_of_work(engine) as conn:
        await conn.execute(campaigns.update().where(campaigns.c.id == store["budget_campaign"])
                           .values(budget_limit=budget))
    script = RESERVE_LUA % {"customers": _lua_list(store["buyers"]), "query": json.dumps(json.dumps(RESERVE)),
                            "key": store["integrator"], "offer": store["offer"], "run": f"bench-{time.time_ns()}"}
    run = run_wrk(url, script, connections, seconds)
    async with unit_of_work(engine) as conn:
        used = await conn.scalar(select(campaigns.c.budget_used).where(campaigns.c.id == store["budget_campaign"]))
        held = await conn.scalar(select(func.count()).select_from(redemptions).where(
            redemptions.c.campaign_id == store["budget_campaign"], redemptions.c.status == "reserved"))
    run |= {"budget_limit": budget, "budget_used": float(used), "redemptions_held": held,
            "overruns": max(0, held - budget) + max(0, int(used) - budget)}
    _row("redemptionReserve", connections, run)
    print(f"{'':<16} budget {budget:,}: {held:,} held, {int(used):,} used, {run['overruns']} overruns", flush=True)
    return run


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--launch-customers", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=20, help="checkouts in flight at once")
    parser.add_argument("--budget", type=int, default=1000, help="the COUNT budget the checkouts race for")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", default="launch,offers,redemptions")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    results: dict = {"workers": args.workers}
    if "launch" in parts:
        results["launch"] = await bench_launch(args.launch_customers)
    if parts & {"offers", "redemptions"}:
        async with scratch_database("bench_offers") as (database_url, engine):
            started = time.perf_counter()
            store = await prepare_store(engine, args.customers)
            print(f"{args.customers:,}-customer demo store, {store['treated']:,} treated, ready in "
                  f"{time.perf_counter() - started:.0f} s; tribe serve --workers {args.workers}; "
                  f"wrk -t1 -cC -d{args.seconds}s", flush=True)
            print(f"{'operation':<16} {'conns':>5} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
                  f"{'non-2xx':>8}", flush=True)
            with tribe_server(database_url, args.workers) as base:
                if "offers" in parts:
                    results["offers"] = bench_offers(base + "/graphql", store, args.seconds)
                if "redemptions" in parts:
                    results["redemptions"] = await bench_redemptions(base + "/graphql", engine, store,
                                                                     args.connections, args.seconds, args.budget)
    write_results("campaigns.json", results)


if __name__ == "__main__":
    asyncio.run(main())
