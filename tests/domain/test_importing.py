"""CSV import: idempotent by external_id, bad rows named by line, good rows loaded."""

from pathlib import Path

from sqlalchemy import func, select

from domain.db import unit_of_work
from domain.importing import import_customers, import_purchases, read_csv
from domain.tables import customers, purchase_items, purchases
from tests.helpers import new_workspace

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


async def _import(engine, workspace_id, kind, path):
    action = import_customers if kind == "customers" else import_purchases
    async with unit_of_work(engine) as conn:
        return await action(conn, workspace_id, read_csv(path))


async def _count(engine, table, workspace_id):
    async with unit_of_work(engine) as conn:
        return await conn.scalar(select(func.count()).select_from(table).where(table.c.workspace_id == workspace_id))


async def test_example_files_load_and_second_run_changes_nothing(engine):
    ws = await new_workspace(engine)
    first = await _import(engine, ws.id, "customers", EXAMPLES / "customers.csv")
    assert (first.inserted, first.updated, first.errors) == (4, 0, [])
    bought = await _import(engine, ws.id, "purchases", EXAMPLES / "purchases.csv")
    assert bought.errors == [] and bought.inserted == 5

    async with unit_of_work(engine) as conn:
        before = (await conn.execute(select(customers.c.id, customers.c.updated_at)
                                     .where(customers.c.workspace_id == ws.id).order_by(customers.c.id))).all()
    again = await _import(engine, ws.id, "customers", EXAMPLES / "customers.csv")
    again_bought = await _import(engine, ws.id, "purchases", EXAMPLES / "purchases.csv")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 4)
    assert (again_bought.inserted, again_bought.unchanged) == (0, 5)
    async with unit_of_work(engine) as conn:
        after = (await conn.execute(select(customers.c.id, customers.c.updated_at)
                                    .where(customers.c.workspace_id == ws.id).order_by(customers.c.id))).all()
    assert before == after
    assert await _count(engine, purchases, ws.id) == 5
    assert await _count(engine, purchase_items, ws.id) == 6


async def test_imported_values_are_typed_and_normalised(engine):
    ws = await new_workspace(engine)
    await _import(engine, ws.id, "customers", EXAMPLES / "customers.csv")
    await _import(engine, ws.id, "purchases", EXAMPLES / "purchases.csv")
    async with unit_of_work(engine) as conn:
        maryam = (await conn.execute(select(customers).where(customers.c.workspace_id == ws.id,
                                                             customers.c.external_id == "C-1001"))).one()
        refund = (await conn.execute(select(purchases).where(purchases.c.workspace_id == ws.id,
                                                             purchases.c.external_id == "P-5004"))).one()
        original = await conn.scalar(select(purchases.c.id).where(purchases.c.workspace_id == ws.id,
                                                                  purchases.c.external_id == "P-5001"))
        summed = await conn.scalar(select(purchases.c.total).where(purchases.c.workspace_id == ws.id,
                                                                   purchases.c.external_id == "P-5003"))
    assert maryam.phone == "۰۹۱۲ ۳۴۵ ۶۷۸۹" and maryam.phone_e164 == "+989123456789"
    assert maryam.interests == ["books", "travel"] and maryam.attributes == {"club_level": "gold"}
    assert maryam.consent_sms and not maryam.consent_push
    assert refund.total < 0 and refund.refund_of_id == original
    assert summed == 2700000  # no total given: the sum of the items


async def test_changed_row_updates_only_that_customer(engine, tmp_path):
    ws = await new_workspace(engine)
    await _import(engine, ws.id, "customers", EXAMPLES / "customers.csv")
    changed = (EXAMPLES / "customers.csv").read_text().replace("ونک", "تجریش")
    (tmp_path / "c.csv").write_text(changed)
    report = await _import(engine, ws.id, "customers", tmp_path / "c.csv")
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 3)


BAD_CUSTOMERS = """external_id,first_name,last_name,email,phone,birth_date
A-1,Sara,Karimi,sara@example.com,09121112233,1991-02-03
A-2,Reza,Nouri,reza@example,09121112234,1991-02-03
A-3,Mina,Rahimi,,12,1991-02-03
A-4,Omid,Nazari,,,1991-13-45
A-1,Sara,Again,,,
,No,Id,,,
A-5,Laila,Moradi,,,۱۳۷۰-۰۱-۰۱
A-6,Kian,Bauer,kian@example.com,,
A-7,Ali,Short,,0912345,
"""


async def test_bad_customer_rows_are_named_and_good_ones_load(engine, tmp_path):
    ws = await new_workspace(engine)
    path = tmp_path / "customers.csv"
    path.write_text(BAD_CUSTOMERS)
    report = await _import(engine, ws.id, "customers", path)
    named = {(e.line, e.field) for e in report.errors}
    assert named == {(3, "email"), (4, "phone"), (5, "birth_date"), (6, "external_id"), (7, "external_id"),
                     (10, "phone")}  # line 8's ۱۳۷۰-۰۱-۰۱ is a Jalali date: 1991-03-21
    assert "line 2" in next(e.message for e in report.errors if e.line == 6)
    assert "no valid prefix or length" in next(e.message for e in report.errors if e.line == 10)
    assert report.inserted == 3
    async with unit_of_work(engine) as conn:
        loaded = dict((await conn.execute(select(customers.c.external_id, customers.c.birth_date).where(
            customers.c.workspace_id == ws.id))).all())
    assert loaded.keys() == {"A-1", "A-5", "A-6"} and str(loaded["A-5"]) == "1991-03-21"


BAD_PURCHASES = """external_id,customer_external_id,purchased_at,total,discount,currency,channel,product,category,quantity,amount
B-1,C-1001,2026-01-05,1000,0,IRR,store,soap,beauty,1,1000
B-2,C-1001,2026-02-30,500,0,IRR,store,soap,beauty,1,500
B-3,C-1002,2026-01-07,900,0,IRR,store,soap,beauty,-2,900
B-4,NOBODY,2026-01-08,700,0,IRR,store,soap,beauty,1,700
B-5,C-1002,2026-01-09,300,0,IRR,store,cream,beauty,1,100
B-5,C-1002,2026-01-09,300,0,IRR,store,shampoo,beauty,1,200
B-6,C-1003,2026-01-10,400,0,IRR,store,pen,,1,400
B-6,C-1001,2026-01-10,400,0,IRR,store,ink,,1,400
B-7,C-1003,2026-01-11,250,-5,IRR,store,pen,,1,250
B-8,C-1004,2026-01-12,800,0,IRR,teleport,pen,,1,800
"""


async def test_bad_purchase_rows_are_named_and_good_ones_load(engine, tmp_path):
    ws = await new_workspace(engine)
    await _import(engine, ws.id, "customers", EXAMPLES / "customers.csv")
    path = tmp_path / "purchases.csv"
    path.write_text(BAD_PURCHASES)
    report = await _import(engine, ws.id, "purchases", path)
    named = {(e.line, e.field) for e in report.errors}
    assert named == {
        (3, "purchased_at"),  # 30 February
        (4, "quantity"),  # negative
        (5, "customer_external_id"),  # unknown customer
        (9, "customer_external_id"),  # same purchase, another customer
        (8, None),  # ...which sinks the purchase's first row too
        (10, "discount"),
        (11, "channel"),
    }
    async with unit_of_work(engine) as conn:
        loaded = set(await conn.scalars(select(purchases.c.external_id).where(purchases.c.workspace_id == ws.id)))
    assert loaded == {"B-1", "B-5"}
    assert await _count(engine, purchase_items, ws.id) == 3


async def test_purchase_dates_may_be_jalali(engine, tmp_path):
    ws = await new_workspace(engine)
    people, bought = tmp_path / "c.csv", tmp_path / "p.csv"
    people.write_text("external_id,first_name\nJ-1,Nima\n")
    bought.write_text("external_id,customer_external_id,purchased_at,product,amount\n"
                      "JP-1,J-1,۱۴۰۴/۰۹/۱۶ 10:30,chai,1000\n")
    await _import(engine, ws.id, "customers", people)
    report = await _import(engine, ws.id, "purchases", bought)
    async with unit_of_work(engine) as conn:
        moment = await conn.scalar(select(purchases.c.purchased_at).where(purchases.c.workspace_id == ws.id))
    assert report.errors == [] and moment.isoformat() == "2025-12-07T10:30:00+00:00"
