"""Dashboard analytics on a workspace small enough to count by hand."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert

from domain.db import unit_of_work
from domain.scoring_pipeline import rescore_workspace
from domain.tables import customers, interactions, purchases
from domain.vocab import Role
from domain.workspaces import create_key
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
    assert sum(found["byLifecycleStage"].values()) == 5 and found["byLifecycleStage"]["prospect"] == 1  # surveyed
    assert sum(found["byCustomerType"].values()) == 5
    assert sum(cell["customers"] for cell in found["rfmGrid"]) == 4
    assert found["repeatPurchaseRate"] == pytest.approx(3 / 4)
    assert found["nps"] == pytest.approx(100 / 3) and found["surveyAnswers"] == 3
    assert found["clvPercentiles"]["p10"] <= found["clvPercentiles"]["p50"] <= found["clvPercentiles"]["p99"]
    assert found["cohorts"] == [
        {"month": "2026-06", "customers": 2, "retention": [0.5, 0.5]},
        {"month": "2026-07", "customers": 1, "retention": [1.0]},
        {"month": "2026-08", "customers": 1, "retention": [1.0]},
    ]
