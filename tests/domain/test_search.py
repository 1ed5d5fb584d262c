"""Fuzzy search finds a customer however the name or phone was typed."""

from pathlib import Path

import pytest

from domain.customers import search_customers
from domain.db import unit_of_work
from domain.importing import import_customers, read_csv
from tests.helpers import new_workspace

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
async def store(engine):
    ws = await new_workspace(engine)
    async with unit_of_work(engine) as conn:
        await import_customers(conn, ws.id, read_csv(EXAMPLES / "customers.csv"))
    return ws


@pytest.mark.parametrize(
    ("query", "external_id"),
    [
        ("مريم كريمي", "C-1001"),  # typed with Arabic yeh and kaf
        ("مریم کریمی", "C-1001"),
        ("کریمی", "C-1001"),
        ("پارس نوین", "C-1003"),  # company name
        ("info@parsnovin", "C-1003"),  # email
        ("0912 345 6789", "C-1001"),  # phone as typed locally
        ("۰۹۱۳۷۶۵۴۳۲۱", "C-1004"),  # phone in Persian digits
        ("+98 935 111 2233", "C-1002"),
        ("arash tehrani", "C-1002"),
        ("tehrany", "C-1002"),  # a typo still finds them
    ],
)
async def test_search_finds_the_customer_first(engine, store, query, external_id):
    async with unit_of_work(engine, store.id) as conn:
        found = await search_customers(conn, store.id, query, 5)
    assert found and found[0].external_id == external_id


async def test_search_for_nobody_finds_nobody(engine, store):
    async with unit_of_work(engine, store.id) as conn:
        assert await search_customers(conn, store.id, "zzzzqqq", 5) == []


async def test_an_exact_external_id_finds_that_customer_alone(engine):
    """DEMO-0001583 used to match every DEMO-... customer of the demo store."""
    from domain.customers import count_matches
    from domain.demo import build_demo

    ws = await new_workspace(engine)
    async with unit_of_work(engine, ws.id) as conn:
        await build_demo(conn, ws.id, 300, seed=5)
        found = await search_customers(conn, ws.id, "DEMO-0000123", 20)
        counted = await count_matches(conn, ws.id, " DEMO-0000123 ")
        partial = await search_customers(conn, ws.id, "DEMO-00001", 20)
    assert [r.external_id for r in found] == ["DEMO-0000123"] and found[0].total == 1 and counted == 1
    assert len(partial) > 1  # not an exact id: fuzzy as before
