"""Demo-store load time and CSV import throughput.

    .venv/bin/python bench/bench_load.py [--customers 100000]

Builds the demo store in a fresh database (DATABASE_URL's server, or an embedded
PostgreSQL in a temporary folder), exports it in the import CSV formats, imports
those files into a new workspace, then imports them again (the idempotent rerun).
Times include validation, COPY and commit; not process start or CSV export.
Prints a table and writes bench/results/load.json.
"""

from __future__ import annotations

import argparse
import contextlib
import asyncio
import io
import json
import os
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from domain import db, embedded_pg, migrate
from domain.db import raw_connection, unit_of_work
from domain.demo import build_demo
from domain.importing import import_customers, import_purchases, read_csv
from domain.workspaces import create_workspace

CUSTOMERS_CSV = """
SELECT external_id, kind, first_name, last_name, company_name, contact_person, registration_number, email,
       phone, birth_date, gender, occupation, marital_status, education, income_band, province, city,
       neighbourhood, array_to_string(interests, '|') AS interests, lifestyle, temperament,
       array_to_string(staff_traits, '|') AS traits, lifecycle_stage, consent_sms, consent_email, consent_push
FROM customers WHERE workspace_id = {w} ORDER BY id"""
PURCHASES_CSV = """
SELECT p.external_id, c.external_id AS customer_external_id, p.purchased_at, p.total, p.discount, p.currency,
       p.channel, i.product, i.category, i.quantity, i.amount
FROM purchases p JOIN customers c ON c.id = p.customer_id JOIN purchase_items i ON i.purchase_id = p.id
WHERE p.workspace_id = {w} ORDER BY p.id, i.id"""


async def _export(engine, sql: str, path: Path) -> int:
    async with unit_of_work(engine) as conn:
        buffer = io.BytesIO()
        await (await raw_connection(conn)).copy_from_query(sql, output=buffer, format="csv", header=True)
    path.write_bytes(buffer.getvalue())
    return buffer.getvalue().count(b"\n") - 1


async def _timed_import(engine, workspace_id, action, path):
    started = time.perf_counter()
    async with unit_of_work(engine) as conn:
        report = await action(conn, workspace_id, read_csv(path))
    return report, time.perf_counter() - started


async def run(server_url: str, n: int, folder: Path) -> list[dict]:
    name = f"tribe_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(make_url(server_url).set(drivername="postgresql").render_as_string(False))
    await admin.execute(f'CREATE DATABASE "{name}"')
    engine = db.make_engine(make_url(server_url).set(database=name).render_as_string(False))
    rows = []
    try:
        await migrate.upgrade(engine)
        async with unit_of_work(engine) as conn:
            source = await create_workspace(conn, "bench-demo")
        started = time.perf_counter()
        async with unit_of_work(engine) as conn:
            counts = await build_demo(conn, source.id, n)
        seconds = time.perf_counter() - started
        stored = counts.customers + counts.purchases + counts.purchase_items + counts.interactions + counts.notes
        rows.append({"step": "demo store", "rows": stored, "seconds": seconds,
                     "detail": f"{counts.customers:,} customers, {counts.purchases:,} purchases, "
                               f"{counts.purchase_items:,} items, {counts.interactions:,} interactions, "
                               f"{counts.notes:,} notes"})

        customers_csv, purchases_csv = folder / "customers.csv", folder / "purchases.csv"
        await _export(engine, CUSTOMERS_CSV.format(w=source.id), customers_csv)
        await _export(engine, PURCHASES_CSV.format(w=source.id), purchases_csv)
        async with unit_of_work(engine) as conn:
            target = await create_workspace(conn, "bench-import")
        for label in ("import", "import again (no change)"):
            for kind, action, path in (("customers", import_customers, customers_csv),
                                       ("purchases", import_purchases, purchases_csv)):
                report, seconds = await _timed_import(engine, target.id, action, path)
                assert not report.errors, report.errors[:3]
                rows.append({"step": f"{label}: {kind}", "rows": report.rows, "seconds": seconds,
                             "detail": f"{report.inserted:,} new, {report.updated:,} updated, "
                                       f"{report.unchanged:,} unchanged"})
    finally:
        await engine.dispose()
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tribe-bench-") as folder, contextlib.ExitStack() as stack:
        url = os.environ.get("DATABASE_URL") or stack.enter_context(embedded_pg.throwaway())
        rows = asyncio.run(run(url, args.customers, Path(folder)))
    print(f"\n{'step':<38} {'rows':>12} {'seconds':>9} {'rows/s':>10}  detail")
    for r in rows:
        print(f"{r['step']:<38} {r['rows']:>12,} {r['seconds']:>9.1f} {r['rows'] / r['seconds']:>10,.0f}  {r['detail']}")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "load.json").write_text(json.dumps({"customers": args.customers, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
