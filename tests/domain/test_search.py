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
