"""Full rescoring from PostgreSQL and back, and incremental rescoring of one customer.

    .venv/bin/python bench/bench_rescoring.py [--sizes 100000 1000000] [--repeat 2] [--incremental 300]

For each size, a fresh database gets that many customers with about ten
purchases each over two years (drawn from BG/NBD + Gamma-Gamma like the demo
store) and about two service interactions each. The bench loads them with
triggers off (session_replication_role = replica, so it needs a superuser: the
embedded PostgreSQL is one) because only the rescoring is measured here.

Then: full rescoring with a refit (extract by binary COPY / kernels / load by
binary COPY into a new partition / segment changes and the swap), median of
--repeat runs after one warm-up run and a VACUUM ANALYZE, each run finding
1,000 purchases recorded since the one before; and
incremental rescoring of random customers right after recording a purchase
for them, in the same transaction and under the API's role and row-level
security, with p50/p95/p99. Prints a table and writes
bench/results/rescoring.json.
"""

from __future__ import annotations

import argparse
import contextlib
import asyncio
import json
import os
import statistics
import time
import uuid
from pathlib import Path

import asyncpg
import numpy as np
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

from domain import db, embedded_pg, migrate, pgcopy
from domain.db import tenant_transaction, unit_of_work
from domain.scoring_pipeline import rescore_customer, rescore_workspace
from domain.tables import purchases
from domain.workspaces import create_workspace
from scoring import BgNbdParams, GammaGammaParams, simulate

DAY = 86400.0
WINDOW_DAYS = 730.0
NEW_PURCHASES = 1_000  # recorded before each timed run


async def populate(engine, workspace_id: int, n: int, rng: np.random.Generator) -> int:
    now = time.time() / DAY
    T = rng.uniform(0.0, WINDOW_DAYS, n)
    sim = simulate(T, BgNbdParams(1.2, 28.0, 0.5, 6.0), GammaGammaParams(6.0, 4.0, 2_500_000.0), rng)
    interactions = rng.poisson(2.0, n)
    owner = np.repeat(np.arange(n), interactions)
    async with unit_of_work(engine) as conn:
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        ids = np.fromiter((r[0] for r in await conn.execute(text(
            "INSERT INTO customers (workspace_id, external_id, first_name, search_text, acquired_at) "
            "SELECT :w, 'B' || g, 'Customer', 'customer', now() - make_interval(days => (:window * random())::int) "
            "FROM generate_series(1, :n) g RETURNING id"), {"w": workspace_id, "n": n, "window": WINDOW_DAYS})),
            dtype=np.int64, count=n)
        ids.sort()
        await conn.execute(text("CREATE TEMP TABLE raw_purchases (customer_id bigint, at double precision, "
                                "amount double precision) ON COMMIT DROP"))
        await pgcopy.copy_in(conn, "raw_purchases", {
            "customer_id": pgcopy.Field("int8", ids[sim.customer]),
            "at": pgcopy.Field("float8", (now - T[sim.customer] + sim.time) * DAY),
            "amount": pgcopy.Field("float8", np.round(sim.amount, -3)),
        })
        await conn.execute(text(
            "INSERT INTO purchases (workspace_id, customer_id, purchased_at, total, currency) "
            "SELECT :w, customer_id, to_timestamp(at), amount, 'IRR' FROM raw_purchases"), {"w": workspace_id})
        kinds = np.array(["support_request", "complaint", "discount_request", "return", "referral", "enquiry"])
        await conn.execute(text("CREATE TEMP TABLE raw_interactions (customer_id bigint, kind bigint, "
                                "minutes double precision) ON COMMIT DROP"))
        await pgcopy.copy_in(conn, "raw_interactions", {
            "customer_id": pgcopy.Field("int8", ids[owner]),
            "kind": pgcopy.Field("int8", rng.integers(0, kinds.size, owner.size)),
            "minutes": pgcopy.Field("float8", rng.integers(0, 60, owner.size).astype(float)),
        })
        await conn.execute(text(
            "INSERT INTO interactions (workspace_id, customer_id, kind, occurred_at, staff_minutes) "
            "SELECT :w, customer_id, (CAST(:kinds AS text[]))[kind + 1], now() - make_interval(days => (730 * random())::int), "
            "minutes FROM raw_interactions"), {"w": workspace_id, "kinds": kinds.tolist()})
    await _vacuum(engine)
    return int(sim.customer.size)


async def _new_purchases(engine, workspace_id: int, count: int) -> None:
    """What a scheduled run finds: purchases recorded since the last one (here
    written straight to the table, so nothing is rescored before the run)."""
    async with unit_of_work(engine) as conn:
        await conn.execute(text(
            "INSERT INTO purchases (workspace_id, customer_id, purchased_at, total, currency) "
            "SELECT :w, id, now() - random() * interval '1 day', round((random() * 5000000)::numeric, -3), 'IRR' "
            "FROM customers WHERE workspace_id = :w ORDER BY random() LIMIT :k"), {"w": workspace_id, "k": count})


async def _vacuum(engine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("COMMIT"))
        await conn.execute(text("VACUUM ANALYZE"))


async def bench_size(server_url: str, n: int, repeat: int, incremental: int) -> dict:
    name = f"tribe_bench_{uuid.uuid4().hex[:8]}"
    dsn = make_url(server_url).set(drivername="postgresql").render_as_string(False)
    admin = await asyncpg.connect(dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    engine = db.make_engine(make_url(server_url).set(database=name).render_as_string(False))
    try:
        await migrate.upgrade(engine)
        async with unit_of_work(engine) as conn:
            workspace = await create_workspace(conn, "bench")
        rng = np.random.default_rng(n)
        started = time.perf_counter()
        bought = await populate(engine, workspace.id, n, rng)
        setup = time.perf_counter() - started

        await rescore_workspace(engine, workspace.id, refit=True)  # warm-up: compiled kernels, warm caches
        # The warm-up is the workspace's first run: it opened every segment stay (4 M
        # rows and events at 10^6). Vacuumed now, as autovacuum would have long
        # before the next scheduled run; otherwise it runs during the timed ones.
        await _vacuum(engine)
        runs = []
        for _ in range(repeat):
            await _new_purchases(engine, workspace.id, NEW_PURCHASES)
            started = time.perf_counter()
            report = await rescore_workspace(engine, workspace.id, refit=True)
            runs.append({**report.seconds, "total": time.perf_counter() - started})
        middle = sorted(runs, key=lambda r: r["total"])[len(runs) // 2]

        async with unit_of_work(engine) as conn:
            ids = [r[0] for r in await conn.execute(text(
                "SELECT id FROM customers WHERE workspace_id = :w ORDER BY random() LIMIT :k"),
                {"w": workspace.id, "k": incremental})]
        rescore_ms, request_ms = [], []
        for customer_id in ids:
            started = time.perf_counter()
            async with tenant_transaction(engine, workspace.id) as conn:  # as an API request runs
                await conn.execute(insert(purchases).values(workspace_id=workspace.id, customer_id=customer_id,
                                                            purchased_at=text("now()"), total=1_000_000,
                                                            currency="IRR"))
                inner = time.perf_counter()
                await rescore_customer(conn, workspace.id, customer_id)
                rescore_ms.append((time.perf_counter() - inner) * 1e3)
            request_ms.append((time.perf_counter() - started) * 1e3)
        return {"customers": n, "purchases": bought, "setup_s": setup, "full": middle, "runs": runs,
                "incremental_rescore_ms": _percentiles(rescore_ms),
                "incremental_with_write_and_commit_ms": _percentiles(request_ms)}
    finally:
        await engine.dispose()
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = np.sort(values)
    return {"p50": float(np.percentile(ordered, 50)), "p95": float(np.percentile(ordered, 95)),
            "p99": float(np.percentile(ordered, 99)), "mean": statistics.fmean(values), "n": len(values)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--incremental", type=int, default=300, help="customers rescored one by one")
    args = parser.parse_args()
    results = []
    with contextlib.ExitStack() as stack:
        url = os.environ.get("DATABASE_URL") or stack.enter_context(embedded_pg.throwaway())
        for n in args.sizes:
            results.append(asyncio.run(bench_size(url, n, args.repeat, args.incremental)))
    print(f"\n{'customers':>10} {'purchases':>11} | {'extract':>8} {'kernels':>8} {'load':>8} {'segments':>8} "
          f"{'total':>8} | "
          f"{'incremental p50':>15} {'p95':>6} {'p99':>6} | {'+ write & commit p50':>20} {'p99':>6}")
    for r in results:
        f, inc, req = r["full"], r["incremental_rescore_ms"], r["incremental_with_write_and_commit_ms"]
        print(f"{r['customers']:>10,} {r['purchases']:>11,} | {f['extract']:>7.2f}s {f['kernels']:>7.2f}s "
              f"{f['load']:>7.2f}s {f['segments']:>7.2f}s {f['total']:>7.2f}s | {inc['p50']:>13.2f}ms {inc['p95']:>6.2f} {inc['p99']:>6.2f} | "
              f"{req['p50']:>18.2f}ms {req['p99']:>6.2f}")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "rescoring.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
