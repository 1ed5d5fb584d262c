"""GraphQL API under load, driven by wrk on loopback.

    .venv/bin/python bench/bench_api.py [--customers 20000] [--seconds 10] [--workers 2]
                                        [--connections 1,10,50] [--think-ms 0,100]
                                        [--operations customer,search,...]

A fresh database (DATABASE_URL's server, or an embedded PostgreSQL) gets the
demo store, scored, and 10 notes more on each of 1,000 customers, then VACUUM
ANALYZE. `tribe serve
--workers N` serves it with the rate limit out of the way. Then, for each
operation and each number of connections, `wrk -t1 -c C -d S` replays it (a Lua
script POSTs the body, picking the customer at random among the 1,000):

- customer: a customer by id with scores and 10 notes;
- search: a fuzzy search, first 20;
- filtered page: 50 customers of a type with a churn risk range, with scores;
- add note: noteCreate;
- record purchase: purchaseRecord of one item (incremental rescoring, segment
  membership and events in the same transaction).

With `--think-ms T` (besides 0) each of the most connections also waits T ms
on average (uniformly 0 to 2T) after each response, like clients that do
something with what they got:
back to back, latency is only queueing (50 connections / throughput); with
thinking time it is what a client sees at that offered load.

Before the runs of an operation one request is checked for GraphQL errors,
then the operation runs unrecorded for WARM_UP_SECONDS at the most connections:
right after a start, each worker's pooled connections are opened as the load
first needs them, and a new PostgreSQL connection's first queries fill its
caches (the first seconds after a start had a p99 of 120-160 ms). wrk is a C
client, so the load generator's own CPU stays small (see ../shared/BENCHMARKING.md);
it still shares the 2 cores with the server and PostgreSQL. Prints a table
(requests/s, p50/p95/p99 in ms, non-2xx) and writes bench/results/api.json.
Needs `wrk` (Debian: apt-get install wrk).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import httpx
from sqlalchemy import select, text

from domain.db import unit_of_work
from domain.demo import build_demo
from domain.scoring_pipeline import rescore_workspace
from domain.tables import customers
from domain.vocab import Role
from domain.workspaces import create_key, create_workspace
from gql_api.ids import to_global_id
from serving import run_wrk, scratch_database, tribe_server, write_results

CUSTOMER = ("query($id: ID!) { customer(id: $id) { displayName email phoneE164 scores { clv churnRisk "
            "loyalty { index } customerType lifecycleStage rfm { segment } } notes(first: 10) { edges { node { "
            "body author createdAt } } } } }")
SEARCH = "query { customers(search: \"مریم\", first: 20) { totalCount edges { node { displayName email } } } }"
PAGE = ("query { customers(first: 50, filter: {customerTypes: [STANDARD], churnRisk: {min: 0.2, max: 0.8}}) "
        "{ totalCount edges { node { displayName scores { clv churnRisk } } } } }")
NOTE = ("mutation($id: ID!) { noteCreate(input: {customerId: $id, body: \"Called about the order\"}) "
        "{ note { id } userErrors { code } } }")
PURCHASE = ("mutation($id: ID!) { purchaseRecord(input: {customerId: $id, items: [{product: \"Tea\", amount: "
            "\"120000\", category: \"drinks\"}]}) { purchase { id } userErrors { code } } }")
WARM_UP_SECONDS = 3
OPERATIONS = {"customer": CUSTOMER, "search": SEARCH, "filtered page": PAGE, "add note": NOTE,
              "record purchase": PURCHASE}

# wrk's Lua side: a body per request with a random customer id.
LUA = """
local ids = {%(ids)s}
local query = %(query)s
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(key)s"
request = function()
  local id = ids[math.random(#ids)]
  return wrk.format(nil, nil, nil, '{"query":' .. query .. ',"variables":{"id":"' .. id .. '"}}')
end
delay = function()  -- uniform around the mean, or the clients would move in lockstep bursts
  return math.random(0, 2 * %(think_ms)d)
end
"""


async def prepare(engine, n: int) -> tuple[str, list[str]]:
    async with unit_of_work(engine) as conn:
        workspace = await create_workspace(conn, "bench")
        await build_demo(conn, workspace.id, n, seed=7)
        key, _ = await create_key(conn, workspace.id, Role.ADMIN, "bench")
        ids = list(await conn.scalars(select(customers.c.id).where(customers.c.workspace_id == workspace.id)
                                      .order_by(customers.c.id).limit(1000)))
        await conn.execute(text(
            "INSERT INTO notes (workspace_id, customer_id, body, author, kind) "
            "SELECT :w, c, 'Asked about delivery times ' || g, 'bench', 'note' "
            "FROM unnest(CAST(:ids AS bigint[])) c, generate_series(1, 10) g"), {"w": workspace.id, "ids": ids})
    await rescore_workspace(engine, workspace.id)
    async with engine.connect() as conn:  # steady state: autovacuum would otherwise run during the first runs
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE"))
    return key, [to_global_id("Customer", i) for i in ids]


def run_operation(url: str, key: str, ids: list[str], query: str, connections: int, seconds: int,
                  think_ms: int = 0) -> dict:
    lua = LUA % {"ids": ",".join(f'"{i}"' for i in ids), "query": json.dumps(json.dumps(query)), "key": key,
                 "think_ms": think_ms}
    return run_wrk(url, lua, connections, seconds)


def check(url: str, key: str, customer_id: str, query: str) -> None:
    body = httpx.post(url, json={"query": query, "variables": {"id": customer_id}},
                      headers={"Authorization": f"Bearer {key}"}, timeout=30).json()
    if body.get("errors") or any(isinstance(v, dict) and v.get("userErrors") for v in body["data"].values()):
        raise SystemExit(f"the benchmark's request fails: {body}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", default="1,10,50")
    parser.add_argument("--operations", default=",".join(OPERATIONS), help="comma-separated, of: " + ", ".join(OPERATIONS))
    parser.add_argument("--think-ms", default="0,100",
                        help="comma-separated: each client waits this long after a response before its next "
                             "request (0: back to back, the server saturated; 100: 50 clients offer at most "
                             "500 requests/s, the latency a client sees under that load)")
    args = parser.parse_args()
    levels = [int(c) for c in args.connections.split(",")]
    thinking = [int(t) for t in args.think_ms.split(",")]
    results: dict = {"customers": args.customers, "workers": args.workers, "runs": []}
    async with scratch_database("bench_api") as (database_url, engine):
        started = time.perf_counter()
        key, ids = await prepare(engine, args.customers)
        print(f"{args.customers:,} customers ready in {time.perf_counter() - started:.0f} s; "
              f"tribe serve --workers {args.workers}; wrk -t1 -cC -d{args.seconds}s", flush=True)
        print(f"{'operation':<16} {'conns':>5} {'think':>5} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
              f"{'p99 ms':>8} {'non-2xx':>8}", flush=True)
        with tribe_server(database_url, args.workers) as base:
            url = base + "/graphql"
            for operation in args.operations.split(","):
                query = OPERATIONS[operation]
                check(url, key, ids[0], query)
                run_operation(url, key, ids, query, max(levels), WARM_UP_SECONDS)  # not recorded
                for think_ms in thinking:
                    for connections in levels if think_ms == 0 else [max(levels)]:
                        run = run_operation(url, key, ids, query, connections, args.seconds, think_ms)
                        results["runs"].append({"operation": operation, "connections": connections,
                                                "think_ms": think_ms, **run})
                        print(f"{operation:<16} {connections:>5} {think_ms:>5} {run['requests_per_second']:>8,.0f} "
                              f"{run['p50']:>8.2f} {run['p95']:>8.2f} {run['p99']:>8.2f} "
                              f"{run['non2xx'] + run['socket_errors']:>8}", flush=True)
    write_results("api.json", results)


if __name__ == "__main__":
    asyncio.run(main())
