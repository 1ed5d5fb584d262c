"""The demo store's finished campaign: launched for real, moved back in time,
with the simulated response's purchases and cashback in its results."""

from __future__ import annotations

from sqlalchemy import func, select

from domain.campaigns.demo import ATTRIBUTION_DAYS, add_finished_campaign
from domain.campaigns.results import campaign_results
from domain.db import unit_of_work
from domain.demo import build_demo
from domain.scoring_pipeline import rescore_workspace
from domain.tables import redemptions
from gql_api.ids import to_global_id
from tests.helpers import new_workspace


async def test_the_demo_campaign_has_ended_with_results_in_its_window(engine):
    workspace = await new_workspace(engine, "democamp")
    async with unit_of_work(engine) as conn:
        await build_demo(conn, workspace.id, 3000, seed=7)
    await rescore_workspace(engine, workspace.id)
    async with unit_of_work(engine, workspace.id) as conn:
        row = await add_finished_campaign(conn, workspace.id, to_global_id)
        found = await campaign_results(conn, row)
        redeemed = await conn.scalar(select(func.count()).select_from(redemptions).where(
            redemptions.c.campaign_id == row.id, redemptions.c.status == "confirmed"))
    assert row.status == "ended" and (row.ended_at - row.launched_at).days == ATTRIBUTION_DAYS
    assert found.attribution_complete and found.treatment.assigned == row.audience_report["treatment"] > 300
    assert found.holdout.assigned == row.audience_report["holdout"] > 30
    # Every simulated win-back purchase converts inside the window, its cashback paid.
    assert redeemed > 0 and found.treatment.conversions >= redeemed and found.treatment.cashback_cost > 0
    assert found.conversion_uplift is not None and found.verdict != "INSUFFICIENT_DATA"
