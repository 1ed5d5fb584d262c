"""The demo store: counts, every service-history kind, and the same store for the same seed."""

import phonenumbers
from sqlalchemy import func, select

from domain.customers import search_customers
from domain.db import unit_of_work
from domain.demo import BUYER_SHARE, build_demo
from domain.tables import customers, interactions, notes, purchase_items, purchases
from domain.text import normalize_phone
from domain.vocab import InteractionKind
from tests.helpers import new_workspace

N = 3000


async def _load(engine, seed=11):
    ws = await new_workspace(engine, "demo")
    async with unit_of_work(engine) as conn:
        counts = await build_demo(conn, ws.id, N, seed)
    return ws, counts


async def _scalar(engine, query):
    async with unit_of_work(engine) as conn:
        return await conn.scalar(query)


async def test_counts_match_what_was_stored(engine):
    ws, counts = await _load(engine)
    for table, expected in [(customers, counts.customers), (purchases, counts.purchases),
                            (purchase_items, counts.purchase_items), (interactions, counts.interactions),
                            (notes, counts.notes)]:
        stored = await _scalar(engine, select(func.count()).select_from(table).where(table.c.workspace_id == ws.id))
        assert stored == expected, table.name
    assert counts.customers == N
    # about ten purchases per buyer, as the documented parameters give
    assert 7 < counts.purchases / (N * BUYER_SHARE) < 13
    buyers = await _scalar(engine, select(func.count(func.distinct(purchases.c.customer_id)))
                           .where(purchases.c.workspace_id == ws.id))
    assert abs(buyers / N - BUYER_SHARE) < 0.03


async def test_every_kind_of_service_history_occurs(engine):
    ws, _ = await _load(engine)
    async with unit_of_work(engine) as conn:
        kinds = set(await conn.scalars(select(interactions.c.kind).where(interactions.c.workspace_id == ws.id)
                                       .distinct()))
        # Service-hungry customers: over 40 hours of staff time.
        vampires = await conn.scalar(
            select(func.count()).select_from(
                select(interactions.c.customer_id).where(interactions.c.workspace_id == ws.id)
                .group_by(interactions.c.customer_id).having(func.sum(interactions.c.staff_minutes) > 40 * 60)
                .subquery()))
        organisations = await conn.scalar(select(func.count()).where(customers.c.workspace_id == ws.id,
                                                                     customers.c.kind == "organisation"))
        persian = await conn.scalar(select(func.count()).where(customers.c.workspace_id == ws.id,
                                                               customers.c.search_text.op("~")("[\u0600-\u06ff]")))
    assert kinds == {k.value for k in InteractionKind}
    assert vampires > 0 and organisations > 0 and persian > N / 2


async def test_same_seed_same_store(engine):
    first, _ = await _load(engine, seed=3)
    second, _ = await _load(engine, seed=3)

    async def totals(ws):
        return await _scalar(engine, select(func.sum(purchases.c.total)).where(purchases.c.workspace_id == ws.id))

    assert await totals(first) == await totals(second)


async def test_demo_phones_are_valid_numbers_and_search_finds_customers_by_email_and_phone(engine):
    ws, _ = await _load(engine)
    async with unit_of_work(engine, ws.id) as conn:
        rows = list(await conn.execute(select(customers.c.id, customers.c.email, customers.c.phone,
                                              customers.c.phone_e164).where(customers.c.workspace_id == ws.id)
                                       .order_by(customers.c.id)))
        assert all(phonenumbers.is_valid_number(phonenumbers.parse(r.phone_e164)) for r in rows)
        assert all(normalize_phone(r.phone) == r.phone_e164 for r in rows)
        someone = rows[len(rows) // 2]
        by_email = await search_customers(conn, ws.id, someone.email, 5)
        by_phone = await search_customers(conn, ws.id, someone.phone, 5)
    assert by_email[0].id == someone.id and by_phone[0].id == someone.id
