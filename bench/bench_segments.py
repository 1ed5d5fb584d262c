"""Segments and real-time delivery.

    .venv/bin/python bench/bench_segments.py [--customers 1000000] [--incremental 300]
                                             [--subscribers 1000] [--segments 100] [--rate 1000] [--seconds 10]
                                             [--workers 2]

1. Membership at scale: a fresh database gets --customers customers with
   scores (generated in SQL: only segments are measured here). Then, timed:
   a rule segment's first computation (everyone matching enters, one event
   each) and its recomputation when nothing changed; the 24 built-in segments
   the same way (what a full rescoring adds); and the incremental update of
   one customer's memberships, in its own transaction, as after a purchase
   (p50/p95/p99 of --incremental customers).
2. Subscription fan-out: `tribe serve --workers N` (default 2) serves
   --subscribers WebSocket subscribers, each following one of --segments
   segments, held by a Node client (bench/js, ws package; `npm ci` on first
   use) so the load client takes little CPU from the server; a producer commits
   --rate segment events a second (batches every 10 ms, spread over the
   segments) for --seconds; each event reaches the subscribers of its segment.
   Latency is from the producer's commit returning to the client's receipt
   (both on this machine's clock).

Prints tables and writes bench/results/segments.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import time
from pathlib import Path

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from domain import segment_membership, segments
from domain.db import tenant_transaction, unit_of_work
from domain.events import TAKE_SEQ
from domain.tables import segments as segments_table
from domain.vocab import Role, SegmentKind
from domain.workspaces import create_key, create_workspace
from gql_api.ids import to_global_id
from serving import scratch_database, tribe_server, write_results

RULE = {"and": [{"condition": {"field": "clv", "op": "gte", "value": 5_000_000}},
                {"condition": {"field": "churn_risk", "op": "lt", "value": 0.5}}]}
STAGES = "ARRAY['new','active','loyal','at_risk','inactive','lost']"
TYPES = "ARRAY['tribe','vampire','churner','snow_leopard','standard']"
RFM = ("ARRAY['champions','loyal_customers','potential_loyalists','new_customers','promising','need_attention',"
       "'about_to_sleep','at_risk','cant_lose_them','hibernating','lost']")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def populate(engine, workspace_id: int, n: int) -> None:
    async with unit_of_work(engine) as conn:
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        await conn.execute(text(
            "INSERT INTO customers (workspace_id, first_name, city, tags) SELECT :w, 'C', "
            "(ARRAY['Tehran','Shiraz','Tabriz','Rasht'])[1 + g % 4], CASE WHEN g % 7 = 0 THEN '{vip}'::text[] "
            "ELSE '{}' END FROM generate_series(1, :n) g"), {"w": workspace_id, "n": n})
        await conn.execute(text(f"""
            INSERT INTO customer_scores (workspace_id, customer_id, purchase_count, frequency, recency, tenure,
                monetary, total_spend, clv, probability_alive, customer_type, lifecycle_stage, rfm_segment)
            SELECT :w, id, 1 + (id % 20), id % 20, 10, 300, 1e6, 1e7 * random(), 1e7 * random(), random(),
                   ({TYPES})[1 + id % 5], ({STAGES})[1 + id % 6], ({RFM})[1 + id % 11]
            FROM customers WHERE workspace_id = :w"""), {"w": workspace_id})
    async with engine.connect() as conn:
        await conn.execute(text("COMMIT"))
        await conn.execute(text("VACUUM ANALYZE customers"))
        await conn.execute(text("VACUUM ANALYZE customer_scores"))


async def timed(engine, workspace_id: int, work) -> tuple[float, int]:
    started = time.perf_counter()
    async with unit_of_work(engine, workspace_id) as conn:
        changes = await work(conn)
    return time.perf_counter() - started, changes


async def membership(engine, workspace_id: int, n: int, incremental: int) -> dict:
    results = {}
    async with unit_of_work(engine, workspace_id) as conn:
        rule = (await conn.execute(segments_table.insert().values(
            workspace_id=workspace_id, key="bench", name="bench", kind=SegmentKind.RULE.value, rule=RULE)
            .returning(segments_table.c.id))).scalar_one()
        builtin = {r.id for r in await segments.list_segments(conn, workspace_id, ["builtin"])}
    for label, ids in (("rule segment", {rule}), ("24 built-in segments", builtin)):
        for phase in ("first computation", "recomputation, nothing changed"):
            seconds, changes = await timed(engine, workspace_id, lambda conn, ids=ids: segment_membership.sync(
                conn, workspace_id, "bench", segment_ids=ids))
            results[f"{label}: {phase}"] = {"seconds": seconds, "changes": changes}
            print(f"  {label:<22} {phase:<32} {seconds:7.2f} s  {changes:>9,} changes", flush=True)
    async with unit_of_work(engine) as conn:
        ids = list(await conn.scalars(text("SELECT id FROM customers WHERE workspace_id = :w"), {"w": workspace_id}))
    whole, sync_only = [], []
    for customer_id in random.Random(1).sample(ids, incremental):
        started = time.perf_counter()
        async with tenant_transaction(engine, workspace_id) as conn:
            await conn.execute(text("UPDATE customer_scores SET clv = clv * 1.5 WHERE customer_id = :c"),
                               {"c": customer_id})
            syncing = time.perf_counter()
            await segment_membership.sync(conn, workspace_id, "purchase recorded", [customer_id])
            sync_only.append((time.perf_counter() - syncing) * 1000)
        whole.append((time.perf_counter() - started) * 1000)
    for label, latencies in (("incremental ms", whole), ("incremental sync ms", sync_only)):
        results[label] = {q: percentile(latencies, p) for q, p in (("p50", .5), ("p95", .95), ("p99", .99))}
    print(f"  incremental, one customer: the membership update (all 25 segments + events) "
          f"p50 {results['incremental sync ms']['p50']:.2f} ms, p95 {results['incremental sync ms']['p95']:.2f} ms, "
          f"p99 {results['incremental sync ms']['p99']:.2f} ms; with the score write and the commit, in its own "
          f"transaction p50 {results['incremental ms']['p50']:.2f} ms, p95 {results['incremental ms']['p95']:.2f} ms, "
          f"p99 {results['incremental ms']['p99']:.2f} ms", flush=True)
    return results


SUBSCRIBE = ("subscription($ids: [ID!]) { segmentMembershipChanged(segmentIds: $ids) "
             "{ eventId segmentId customerId } }")


JS = Path(__file__).parent / "js"


async def subscribers_process(url: str, key: str, subscribers: int, n_segments: int):
    """The Node client (bench/js/fanout_client.mjs), once every subscriber is subscribed."""
    if not (JS / "node_modules").exists():
        subprocess.run(["npm", "ci", "--silent"], cwd=JS, check=True)
    segment_ids = [to_global_id("Segment", 1 + i) for i in range(n_segments)]
    client = await asyncio.create_subprocess_exec(
        "node", str(JS / "fanout_client.mjs"), url, key, SUBSCRIBE, json.dumps(segment_ids), str(subscribers),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=2**30)
    line = await asyncio.wait_for(client.stdout.readline(), 120)
    if line.strip() != b"ready":
        raise RuntimeError(f"the subscribers did not start: {line!r}")
    return client


async def fan_out(engine, database_url: str, workspace_id: int, subscribers: int, n_segments: int, rate: int,
                  seconds: float, workers: int) -> dict:
    async with unit_of_work(engine) as conn:
        key, _ = await create_key(conn, workspace_id, Role.INTEGRATOR)
    with tribe_server(database_url, workers) as base:
        url = base.replace("http://", "ws://") + "/graphql"
        client = await subscribers_process(url, key, subscribers, n_segments)
        await asyncio.sleep(2.0)  # every subscription registered with the hub
        committed: dict[str, float] = {}
        dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        producer = await asyncpg.connect(dsn)
        batch = max(1, rate // 100)
        started = time.time()
        tick = 0
        while time.time() - started < seconds:
            tick += 1
            segment_ids = [random.randint(1, n_segments) for _ in range(batch)]
            async with producer.transaction():
                last = await producer.fetchval(TAKE_SEQ.replace(":workspace_id", "$1").replace(":count", "$2"),
                                               workspace_id, batch)
                await producer.execute(
                    "INSERT INTO events (workspace_id, seq, kind, customer_id, segment_id, payload) "
                    "SELECT $1, $2 + o - 1, 'segment.entered', 1, s, '{\"reason\": \"bench\"}' "
                    "FROM unnest($3::bigint[]) WITH ORDINALITY AS t(s, o)", workspace_id, last - batch + 1,
                    segment_ids)
                await producer.execute("SELECT pg_notify('tribe_events', $1)", str(workspace_id))
            now = time.time()
            for seq in range(last - batch + 1, last + 1):
                committed[f"{workspace_id}-{seq}"] = now
            await asyncio.sleep(max(0.0, started + tick * 0.01 - time.time()))
        produced = len(committed)
        expected = produced * subscribers // n_segments
        await producer.close()
        await asyncio.sleep(5.0)  # the tail still on its way
        client.stdin.close()
        output, _ = await client.communicate()
    received = [(r["eventId"], r["at"] / 1000) for r in map(json.loads, output.splitlines())]
    latencies = [(at - committed[event_id]) * 1000 for event_id, at in received if event_id in committed]
    result = {"workers": workers, "subscribers": subscribers, "segments": n_segments, "events": produced,
              "events_per_second": produced / seconds, "messages_expected": expected,
              "messages_received": len(received), "messages_per_second": len(received) / seconds,
              "latency_ms": {q: percentile(latencies, p) for q, p in (("p50", .5), ("p95", .95), ("p99", .99),
                                                                       ("max", 1.0))}}
    print(f"  {produced:,} events in {seconds:.0f} s ({result['events_per_second']:,.0f}/s) to {subscribers:,} "
          f"subscribers over {n_segments} segments, {workers} worker(s): {len(received):,} of ~{expected:,} messages received; "
          f"commit-to-receipt p50 {result['latency_ms']['p50']:.0f} ms, p95 {result['latency_ms']['p95']:.0f} ms, "
          f"p99 {result['latency_ms']['p99']:.0f} ms, max {result['latency_ms']['max']:.0f} ms", flush=True)
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--incremental", type=int, default=300)
    parser.add_argument("--subscribers", type=int, default=1000, help="0 leaves the fan-out out")
    parser.add_argument("--segments", type=int, default=100)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers serving the subscribers")
    args = parser.parse_args()
    async with scratch_database("bench_segments") as (database_url, engine):
        async with unit_of_work(engine) as conn:
            workspace = await create_workspace(conn, "bench")
        print(f"membership over {args.customers:,} customers", flush=True)
        started = time.perf_counter()
        await populate(engine, workspace.id, args.customers)
        print(f"  (populated in {time.perf_counter() - started:.1f} s)", flush=True)
        results = {"customers": args.customers,
                   "membership": await membership(engine, workspace.id, args.customers, args.incremental)}
        if args.subscribers > 0:
            print("subscription fan-out", flush=True)
            async with unit_of_work(engine) as conn:
                fanout_workspace = await create_workspace(conn, "fanout")
            results["fan_out"] = await fan_out(engine, database_url, fanout_workspace.id, args.subscribers,
                                               args.segments, args.rate, args.seconds, args.workers)
    write_results("segments.json", results)


if __name__ == "__main__":
    asyncio.run(main())
