"""A corpus of hostile CSV files: every bad row is reported as `line N
(field): reason`, every good row loads, nothing is half-written, and no file
raises. Written as bytes: broken UTF-8 and NUL bytes are what a file on disk
can hold, whatever Python strings can."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from domain.db import unit_of_work
from domain.importing import import_customers, import_purchases, read_csv
from domain.tables import customers, purchase_items, purchases
from tests.helpers import new_workspace

CUSTOMER_HEADER = b"external_id,first_name,email,attributes\n"
PURCHASE_HEADER = b"external_id,customer_external_id,purchased_at,total,discount,currency,product,quantity,amount\n"
MEGABYTE = 1 << 20

# (name, bad row, field the report names)
BAD_CUSTOMERS = [
    ("broken UTF-8", b"H-2,Sa\xffra,,\n", "first_name"),
    ("a NUL byte", b"H-3,Re\x00za,,\n", "first_name"),
    ("a 1 MB field", b"H-4," + b"x" * MEGABYTE + b",,\n", "first_name"),
    ("1 MB of attributes", b'H-5,Big,,"{""k"": ""' + b"y" * MEGABYTE + b'""}"\n', "attributes"),
    ("a number beyond floats", b'H-6,Inf,,"{""n"": 1e400}"\n', "attributes"),
    ("NaN in JSON", b'H-7,Nan,,"{""n"": NaN}"\n', "attributes"),
    ("an extra column", b"H-8,Extra,,,surprise\n", None),
    ("a missing column", b"H-9,Short\n", None),
]
BAD_PURCHASES = [
    ("broken UTF-8", b"P-2,C-1,2026-01-02,100,0,IRR,te\xe9,1,100\n", "product"),
    ("a NUL byte", b"P-3,C-1,2026-01-02,100,0,IRR,t\x00ea,1,100\n", "product"),
    ("an amount beyond the column", b"P-4,C-1,2026-01-02,1e25,0,IRR,tea,1,1e25\n", "total"),
    ("a quantity beyond the column", b"P-5,C-1,2026-01-02,100,0,IRR,tea,1e30,100\n", "quantity"),
    ("a discount over the total", b"P-6,C-1,2026-01-02,100,500,IRR,tea,1,100\n", "discount"),
    ("the year 1", b"P-7,C-1,0001-01-01,100,0,IRR,tea,1,100\n", "purchased_at"),
    ("items over the total", b"P-8,C-1,2026-01-02,100,0,IRR,tea,1,900\n", "total"),
    ("a 1 MB product", b"P-9,C-1,2026-01-02,100,0,IRR," + b"t" * MEGABYTE + b",1,100\n", "product"),
    ("an extra column", b"P-10,C-1,2026-01-02,100,0,IRR,tea,1,100,extra\n", None),
]


async def _count(engine, table, workspace_id: int) -> int:
    async with unit_of_work(engine) as conn:
        return await conn.scalar(select(func.count()).select_from(table).where(table.c.workspace_id == workspace_id))


@pytest.mark.parametrize(("name", "row", "field"), BAD_CUSTOMERS, ids=[c[0] for c in BAD_CUSTOMERS])
async def test_a_hostile_customer_row_is_reported_and_the_good_ones_load(engine, tmp_path: Path, name, row, field):
    ws = await new_workspace(engine)
    path = tmp_path / "customers.csv"
    path.write_bytes(CUSTOMER_HEADER + b"H-1,Good,good@example.com,\n" + row + b"H-10,Also good,,\n")
    async with unit_of_work(engine) as conn:
        report = await import_customers(conn, ws.id, read_csv(path))
    assert [(e.line, e.field) for e in report.errors] == [(3, field)], report.errors
    assert str(report.errors[0]).startswith(f"line 3{f' ({field})' if field else ''}: ")
    assert report.inserted == 2 and await _count(engine, customers, ws.id) == 2


@pytest.mark.parametrize(("name", "row", "field"), BAD_PURCHASES, ids=[c[0] for c in BAD_PURCHASES])
async def test_a_hostile_purchase_row_is_reported_and_the_good_ones_load(engine, tmp_path: Path, name, row, field):
    ws = await new_workspace(engine)
    people = tmp_path / "customers.csv"
    people.write_bytes(CUSTOMER_HEADER + b"C-1,Buyer,,\n")
    path = tmp_path / "purchases.csv"
    path.write_bytes(PURCHASE_HEADER + b"P-1,C-1,2026-01-02,100,0,IRR,tea,1,100\n" + row
                     + b"P-11,C-1,2026-01-03,200,0,IRR,cake,2,200\n")
    async with unit_of_work(engine) as conn:
        await import_customers(conn, ws.id, read_csv(people))
        report = await import_purchases(conn, ws.id, read_csv(path))
    assert [(e.line, e.field) for e in report.errors] == [(3, field)], report.errors
    assert report.inserted == 2
    assert await _count(engine, purchases, ws.id) == 2 and await _count(engine, purchase_items, ws.id) == 2
