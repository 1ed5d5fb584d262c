"""Dashboard analytics on a workspace small enough to count by hand."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert

from domain.db import unit_of_work
from domain.scoring_pipeline import rescore_workspace
from domain.segments import change_manual_members, create_segment
from domain.tables import customers, interactions, purchase_items, purchases
from domain.vocab import Role, SegmentKind
from domain.workspaces import create_key
from gql_api.ids import to_global_id
from tests.gql_api.conftest import graphql
from tests.helpers import new_workspace

ANALYTICS = """{ analytics { customers byLifecycleStage byCustomerType rfmGrid clvPercentiles clvTotal
                             repeatPurchaseRate churnRate nps surveyAnswers cohorts { month customers retention } } }"""


@pytest.fixture(scope="module")
async def small(engine):
    workspace = await new_workspace(engine)
    bought = {"a": ["2026-06-15", "2026-07-15", "2026-08-15"], "b": ["2026-06-20"], "d": ["2026-07-02", "2026-08-03"],
              "e": ["2026-08-01", "2026-09-01"], "c": []}
    surveys = {"a": 10, "b": 3, "c": 9}
    async with unit_of_work(engine) as conn:
        for name, days in bought.items():
            pk = await conn.scalar(insert(customers).values(workspace_id=workspace.id, first_name=name)
                                   .returning(customers.c.id))
            for day in days:
                await conn.execute(insert(purchases).values(
                    workspace_id=workspace.id, customer_id=pk, total=1000, currency="IRR",
                    purchased_at=datetime.fromisoformat(day).replace(tzinfo=UTC)))
            if name in surveys:
                await conn.execute(insert(interactions).values(
                    workspace_id=workspace.id, customer_id=pk, kind="survey", score=surveys[name],
                    occurred_at=datetime(2026, 9, 1, tzinfo=UTC)))
        key, _ = await create_key(conn, workspace.id, Role.ANALYST)
    await rescore_workspace(engine, workspace.id)
    return key


async def test_the_figures_a_dashboard_shows(http, small):
    body = await graphql(http, ANALYTICS, small)
    assert "errors" not in body, body
    found = body["data"]["analytics"]
    assert found["customers"] == 5
    assert sum(found["byLifecycleStage"].values()) == 5 and found["byLifecycleStage"]["PROSPECT"] == 1  # surveyed
    assert set(found["byCustomerType"]) <= {"TRIBE", "VAMPIRE", "CHURNER", "SNOW_LEOPARD", "STANDARD"}  # as the enum
    assert sum(found["byCustomerType"].values()) == 5
    assert sum(cell["customers"] for cell in found["rfmGrid"]) == 4
    assert found["repeatPurchaseRate"] == pytest.approx(3 / 4)
    assert found["nps"] == pytest.approx(100 / 3) and found["surveyAnswers"] == 3
    percentiles = found["clvPercentiles"]
    assert float(percentiles["p10"]) <= float(percentiles["p50"]) <= float(percentiles["p99"])
    assert all(re.fullmatch(r"-?\d+\.\d\d", v) for v in [*percentiles.values(), found["clvTotal"]])  # money: 2 decimals
    assert found["cohorts"] == [
        {"month": "2026-06", "customers": 2, "retention": [0.5, 0.5]},
        {"month": "2026-07", "customers": 1, "retention": [1.0]},
        {"month": "2026-08", "customers": 1, "retention": [1.0]},
    ]


MONTHLY = """{ analytics { monthly(months: 4) { month newCustomers activeCustomers retentionRate repeatPurchaseRate
                                              revenue surveyAnswers surveyAverage nps } } }"""
AFFINITY = """query($id: ID!) { node(id: $id) { ... on Segment {
  categoryAffinity { category spend buyers share workspaceShare index } } } }"""
TEHRAN = ZoneInfo("Asia/Tehran")


def _month_starts(now: datetime) -> list[datetime]:
    """The starts of this month and the three before it, in Tehran, oldest first."""
    start = now.astimezone(TEHRAN).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    starts = [start]
    for _ in range(3):
        starts.insert(0, (starts[0] - timedelta(days=1)).replace(day=1))
    return starts


@pytest.fixture(scope="module")
async def months(engine):
    """Customers whose months are known: a buys in each of the last three
    months, b in the first and the last, c first in the middle one (with a
    refund), d only in this month at the start of its first day in Tehran
    (still last month in UTC), e deleted."""
    workspace = await new_workspace(engine)
    now = datetime.now(UTC)
    starts = _month_starts(now)
    # d's purchase: half an hour into the month in Tehran, or halfway to now if the month is younger than that
    d_moment = starts[3] + min(timedelta(minutes=30), (now - starts[3]) / 2)
    mid = [s + timedelta(days=10) for s in starts[1:3]] + [now - timedelta(seconds=1)]
    bought = {"a": [(mid[0], 100), (mid[1], 200), (mid[2], 300)], "b": [(mid[0], 50), (mid[2], 70)],
              "c": [(mid[1], 1000), (mid[1] + timedelta(hours=1), -100)], "d": [(d_moment, 40)], "e": [(mid[2], 9)]}
    async with unit_of_work(engine) as conn:
        pks = {}
        for name, rows in bought.items():
            pks[name] = await conn.scalar(insert(customers).values(
                workspace_id=workspace.id, first_name=name,
                deleted_at=now if name == "e" else None).returning(customers.c.id))
            for moment, total in rows:
                await conn.execute(insert(purchases).values(workspace_id=workspace.id, customer_id=pks[name],
                                                            total=total, currency="IRR", purchased_at=moment))
        for name, score in (("a", 10), ("b", 9), ("c", 3)):
            await conn.execute(insert(interactions).values(workspace_id=workspace.id, customer_id=pks[name],
                                                           kind="survey", score=score, occurred_at=mid[2]))
        key, _ = await create_key(conn, workspace.id, Role.ANALYST)
    return key, [s.strftime("%Y-%m") for s in starts]


async def test_loyalty_kpis_month_by_month_in_the_workspaces_time_zone(http, months):
    key, names = months
    body = await graphql(http, MONTHLY, key)
    assert "errors" not in body, body
    found = body["data"]["analytics"]["monthly"]
    assert [m["month"] for m in found] == names
    assert found[0] == {"month": names[0], "newCustomers": 0, "activeCustomers": 0, "retentionRate": None,
                        "repeatPurchaseRate": None, "revenue": "0.00", "surveyAnswers": 0, "surveyAverage": None,
                        "nps": None}
    assert found[1] | {"revenue": None} == {
        "month": names[1], "newCustomers": 2, "activeCustomers": 2, "retentionRate": None,
        "repeatPurchaseRate": 0.0, "revenue": None, "surveyAnswers": 0, "surveyAverage": None, "nps": None}
    assert found[1]["revenue"] == "150.00"
    assert found[2] == {"month": names[2], "newCustomers": 1, "activeCustomers": 2, "retentionRate": 0.5,
                        "repeatPurchaseRate": 0.5, "revenue": "1100.00", "surveyAnswers": 0, "surveyAverage": None,
                        "nps": None}
    # d counts in this month (Tehran's), e not at all (deleted)
    assert found[3] | {"surveyAverage": None, "nps": None} == {
        "month": names[3], "newCustomers": 1, "activeCustomers": 3, "retentionRate": 0.5,
        "repeatPurchaseRate": pytest.approx(2 / 3), "revenue": "410.00", "surveyAnswers": 3, "surveyAverage": None,
        "nps": None}
    assert found[3]["surveyAverage"] == pytest.approx(22 / 3) and found[3]["nps"] == pytest.approx(100 / 3)
    refused = await graphql(http, "{ analytics { monthly(months: 0) { month } } }", key)
    assert refused["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_what_a_segment_buys_against_the_workspace(http, engine):
    workspace = await new_workspace(engine)
    baskets = {"in1": [("coffee", 300), ("tea", 100)], "in2": [("coffee", 100)],
               "out1": [("tea", 500), ("cups", 100)], "out2": [("coffee", 100), (None, 999)]}
    async with unit_of_work(engine) as conn:
        pks = {}
        for name, items in baskets.items():
            pks[name] = await conn.scalar(insert(customers).values(workspace_id=workspace.id, first_name=name)
                                          .returning(customers.c.id))
            purchase = await conn.scalar(insert(purchases).values(
                workspace_id=workspace.id, customer_id=pks[name], total=sum(a for _, a in items), currency="IRR",
                purchased_at=datetime.now(UTC) - timedelta(days=3)).returning(purchases.c.id))
            for category, amount in items:
                await conn.execute(insert(purchase_items).values(workspace_id=workspace.id, purchase_id=purchase,
                                                                 product="p", category=category, quantity=1,
                                                                 amount=amount))
        segment = await create_segment(conn, workspace.id, "Coffee people", SegmentKind.MANUAL, None)
        await change_manual_members(conn, workspace.id, segment.id, [pks["in1"], pks["in2"]], member=True)
        key, _ = await create_key(conn, workspace.id, Role.ANALYST)
    body = await graphql(http, AFFINITY, key, id=to_global_id("Segment", segment.id))
    assert "errors" not in body, body
    # members: coffee 400 of 500, tea 100 of 500; everyone: coffee 500 of 1200, tea 600, cups 100
    assert body["data"]["node"]["categoryAffinity"] == [
        {"category": "coffee", "spend": "400.00", "buyers": 2, "share": 0.8,
         "workspaceShare": pytest.approx(500 / 1200), "index": pytest.approx(0.8 * 1200 / 500)},
        {"category": "tea", "spend": "100.00", "buyers": 1, "share": 0.2, "workspaceShare": 0.5, "index": 0.4}]
