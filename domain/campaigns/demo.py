"""The demo store's finished campaign, so `make run` shows results at once.

"Win back customers at risk": an SMS cashback campaign aimed at the RFM
segments at_risk and cant_lose_them, launched 35 days ago, ended after 14.
It is launched for real (audience, policies, holdout split, codes, events),
then moved back in time. The demo's own purchases are the baseline both arms
share; on top of them a simulated response: each treated customer, with
probability `LIFT`, bought once more inside the window at about their usual
order and redeemed the cashback. So the results show a positive uplift of
about that size, with its interval: simulated, and said to be.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Row, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.campaigns import lifecycle
from domain.campaigns.campaigns import CampaignInput, create_campaign
from domain.campaigns.offers import Cart, OfferTerms, offers_of
from domain.campaigns.redemptions import RedemptionRequest, confirm, reserve
from domain.tables import campaign_assignments, campaigns, customer_scores, purchase_items, purchases, segments
from domain.vocab import BudgetKind, CampaignChannel, CampaignObjective, CodeMode, OfferKind

LIFT = 0.08
STARTED_DAYS_AGO = 35
ATTRIBUTION_DAYS = 14
USUAL_ORDER = Decimal(1_500_000)  # rials, for customers without a Gamma-Gamma estimate
CASHBACK = OfferTerms(kind=OfferKind.CASHBACK, value=Decimal(10), max_discount=Decimal(500_000),
                      code_mode=CodeMode.UNIQUE, title_en="10% back on your next order",
                      title_fa="۱۰٪ بازگشت وجه برای خرید بعدی", terms_en="Up to 500,000 rials, once.",
                      terms_fa="تا ۵۰۰٬۰۰۰ ریال، یک بار.")


async def add_finished_campaign(conn: AsyncConnection, workspace_id: int, global_id, seed: int = 7) -> Row | None:
    """The campaign, or None when the segments are empty (a workspace not scored)."""
    include = list(await conn.scalars(select(segments.c.id).where(
        segments.c.workspace_id == workspace_id, segments.c.key.in_(["rfm:at_risk", "rfm:cant_lose_them"]))))
    row = await create_campaign(conn, workspace_id, CampaignInput(
        name="Win back customers at risk", channel=CampaignChannel.SMS, objective=CampaignObjective.WIN_BACK,
        include_segment_ids=include, attribution_days=ATTRIBUTION_DAYS, budget_kind=BudgetKind.AMOUNT,
        budget_limit=Decimal(2_000_000_000)), [CASHBACK])
    launched = await lifecycle.launch(conn, workspace_id, row.id, global_id)
    if launched.audience_report["treatment"] == 0:
        return None
    start = datetime.now(UTC) - timedelta(days=STARTED_DAYS_AGO)
    await _respond(conn, workspace_id, launched, start, random.Random(seed))
    end = start + timedelta(days=ATTRIBUTION_DAYS)
    await conn.execute(update(campaign_assignments).where(campaign_assignments.c.campaign_id == row.id)
                       .values(assigned_at=start))
    return (await conn.execute(update(campaigns).where(campaigns.c.id == row.id).values(
        status="ended", starts_at=start, launched_at=start, ends_at=end, ended_at=end).returning(campaigns))).one()


async def _respond(conn: AsyncConnection, workspace_id: int, campaign: Row, start: datetime,
                   rng: random.Random) -> None:
    """The simulated extra purchases of treated customers, each with its confirmed cashback."""
    treated = list(await conn.execute(
        select(campaign_assignments.c.customer_id, customer_scores.c.monetary)
        .outerjoin(customer_scores, (customer_scores.c.workspace_id == workspace_id)
                   & (customer_scores.c.customer_id == campaign_assignments.c.customer_id))
        .where(campaign_assignments.c.campaign_id == campaign.id, campaign_assignments.c.arm == "treatment")
        .order_by(campaign_assignments.c.customer_id)))
    offer_id = (await offers_of(conn, workspace_id, [campaign.id]))[campaign.id][0].id
    for customer_id, usual in treated:
        if rng.random() >= LIFT:
            continue
        amount = ((Decimal(usual) if usual else USUAL_ORDER) / 10_000).quantize(Decimal(1)) * 10_000
        purchase_id = await conn.scalar(insert(purchases).values(
            workspace_id=workspace_id, customer_id=customer_id, total=amount, currency="IRR", channel="online",
            purchased_at=start + timedelta(days=rng.uniform(1, ATTRIBUTION_DAYS - 1))).returning(purchases.c.id))
        await conn.execute(insert(purchase_items).values(workspace_id=workspace_id, purchase_id=purchase_id,
                                                         product="فرش", category="خانه", quantity=1,
                                                         amount=amount))
        reserved, _ = await reserve(conn, workspace_id, RedemptionRequest(
            idempotency_key=f"demo-win-back-{customer_id}", cart=Cart(total=amount, currency="IRR"),
            offer_id=offer_id, customer_id=customer_id, order_id=f"demo-{purchase_id}"))
        await confirm(conn, workspace_id, redemption_id=reserved.id, purchase_id=purchase_id)
