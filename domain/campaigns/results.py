"""Did the campaign help? Its results, arm against arm.

Intention to treat: every customer assigned counts in their arm, whether or
not they opened anything. A customer converts with a goal purchase (any
purchase, or one with an item in the goal categories) within the attribution
window: from their assignment for `attribution_days` days; at most one
conversion per customer. Revenue is what they paid in that window (purchase
totals, refunds netted; with goal categories, those items' amounts), zero
for those who bought nothing, so revenue per customer is over everyone
assigned.

- conversion uplift: the difference of the arms' rates with Newcombe's hybrid
  score interval (scoring/uplift.py); incremental conversions: that times the
  treated;
- revenue uplift: the difference of revenue per customer with a BCa bootstrap
  interval (fixed seed);
- incremental profit: the treated x (revenue uplift x margin - the difference
  in cost to serve per customer) - cashback paid. Discounts given at the till
  are already in the revenue the purchases recorded, so they are reported
  (discountCost) but not taken off twice; cost to serve is staff time in the
  window at the workspace's cost per staff minute.

With fewer than MIN_ARM customers in an arm or MIN_CONVERSIONS conversions in
all, the verdict is INSUFFICIENT_DATA and no claim is made. The minimum
detectable effect says how large an uplift the arms' sizes can show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import Row, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.score_model import ScoringConfig
from domain.tables import model_fits, workspaces
from domain.vocab import Arm
from scoring.uplift import Interval, bca_mean_difference, minimum_detectable_effect, newcombe_difference

MIN_ARM = 30
MIN_CONVERSIONS = 10
REACHED = ("delivered", "opened", "viewed", "clicked", "redeemed")


@dataclass(frozen=True)
class ArmResult:
    arm: Arm
    assigned: int
    reached: int | None  # the treated who got the message (DELIVERED or later); None for the holdout
    conversions: int
    revenue: float
    discount_cost: float
    cashback_cost: float
    cost_to_serve: float

    @property
    def conversion_rate(self) -> float:
        return self.conversions / self.assigned if self.assigned else 0.0

    @property
    def revenue_per_customer(self) -> float:
        return self.revenue / self.assigned if self.assigned else 0.0


@dataclass(frozen=True)
class Results:
    treatment: ArmResult
    holdout: ArmResult
    conversion_uplift: Interval | None
    revenue_uplift: Interval | None
    incremental_conversions: float | None
    incremental_revenue: float | None
    incremental_profit: float | None
    minimum_detectable_effect: float | None
    verdict: str  # POSITIVE, NEGATIVE, INCONCLUSIVE, INSUFFICIENT_DATA
    attribution_complete: bool  # every assigned customer's window has closed
    computed_at: datetime


_PER_CUSTOMER = text("""
WITH a AS (
  SELECT customer_id, arm, assigned_at FROM campaign_assignments WHERE workspace_id = :w AND campaign_id = :c),
bought AS (
  SELECT a.customer_id, a.arm,
         bool_or(p.total > 0 AND v.value > 0) AS converted, sum(v.value) AS revenue
  FROM a
  JOIN purchases p ON p.workspace_id = :w AND p.customer_id = a.customer_id AND p.purchased_at >= a.assigned_at
                   AND p.purchased_at < a.assigned_at + make_interval(days => :days)
  CROSS JOIN LATERAL (
    SELECT CASE WHEN CAST(:goal AS text[]) IS NULL THEN p.total
                ELSE (SELECT coalesce(sum(i.amount), 0) FROM purchase_items i
                      WHERE i.workspace_id = :w AND i.purchase_id = p.id AND i.category = ANY(CAST(:goal AS text[])))
           END AS value) v
  GROUP BY a.customer_id, a.arm)
SELECT arm, converted, revenue FROM bought WHERE converted OR revenue <> 0""")

_ARMS = text("""
WITH a AS (
  SELECT customer_id, arm, assigned_at FROM campaign_assignments WHERE workspace_id = :w AND campaign_id = :c)
SELECT a.arm, count(*) AS assigned, max(a.assigned_at) AS last_assigned,
       count(*) FILTER (WHERE EXISTS (
         SELECT 1 FROM campaign_events e WHERE e.workspace_id = :w AND e.campaign_id = :c
           AND e.customer_id = a.customer_id AND e.kind = ANY(CAST(:reached AS text[])))) AS reached,
       coalesce(sum((SELECT sum(i.staff_minutes) FROM interactions i
                     WHERE i.workspace_id = :w AND i.customer_id = a.customer_id AND i.occurred_at >= a.assigned_at
                       AND i.occurred_at < a.assigned_at + make_interval(days => :days))), 0) AS staff_minutes
FROM a GROUP BY a.arm""")

_REDEEMED = text("""
SELECT coalesce(sum(discount), 0), coalesce(sum(cashback), 0) FROM redemptions
WHERE workspace_id = :w AND campaign_id = :c AND status = 'confirmed'""")


async def _costs(conn: AsyncConnection, workspace_id: int) -> tuple[float, float]:
    """The workspace's margin and cost of a staff minute (from the latest scoring)."""
    settings = await conn.scalar(select(workspaces.c.settings).where(workspaces.c.id == workspace_id)) or {}
    context = await conn.scalar(select(model_fits.c.params).where(model_fits.c.workspace_id == workspace_id,
                                                                  model_fits.c.model == "context")) or {}
    config = ScoringConfig.from_settings(settings)
    minute = config.cost_per_staff_minute if config.cost_per_staff_minute is not None \
        else context.get("staff_minute_cost", 0.0)
    return config.margin, float(minute or 0.0)


async def campaign_results(conn: AsyncConnection, campaign: Row, now: datetime | None = None) -> Results:
    now = now or datetime.now(UTC)
    bound = {"w": campaign.workspace_id, "c": campaign.id, "days": campaign.attribution_days}
    margin, minute_cost = await _costs(conn, campaign.workspace_id)
    spends: dict[str, list[float]] = {Arm.TREATMENT.value: [], Arm.HOLDOUT.value: []}
    conversions = dict.fromkeys(spends, 0)
    for arm, converted, revenue in await conn.execute(_PER_CUSTOMER, bound | {"goal": campaign.goal_categories}):
        conversions[arm] += bool(converted)
        if revenue:
            spends[arm].append(float(revenue))
    arms = {r.arm: r for r in await conn.execute(_ARMS, bound | {"reached": list(REACHED)})}
    discount, cashback = (float(x) for x in (await conn.execute(_REDEEMED, bound)).one())
    built = {}
    for arm in Arm:
        row = arms.get(arm.value)
        treated = arm is Arm.TREATMENT
        built[arm] = ArmResult(arm=arm, assigned=row.assigned if row else 0,
                               reached=(row.reached if row else 0) if treated else None,
                               conversions=conversions[arm.value], revenue=float(sum(spends[arm.value])),
                               discount_cost=discount if treated else 0.0, cashback_cost=cashback if treated else 0.0,
                               cost_to_serve=float(row.staff_minutes) * minute_cost if row else 0.0)
    last = max((r.last_assigned for r in arms.values()), default=None)
    complete = last is not None and now >= last + timedelta(days=campaign.attribution_days)
    return _compare(built[Arm.TREATMENT], built[Arm.HOLDOUT], spends, margin, complete, now)


def _compare(t: ArmResult, h: ArmResult, spends: dict[str, list[float]], margin: float, complete: bool,
             now: datetime) -> Results:
    baseline = h.conversion_rate if h.assigned >= MIN_ARM else (t.conversions + h.conversions) / max(
        t.assigned + h.assigned, 1)
    mde = minimum_detectable_effect(t.assigned, h.assigned, baseline)
    if t.assigned < MIN_ARM or h.assigned < MIN_ARM or t.conversions + h.conversions < MIN_CONVERSIONS:
        return Results(t, h, None, None, None, None, None, mde, "INSUFFICIENT_DATA", complete, now)
    conversion = newcombe_difference(t.conversions, t.assigned, h.conversions, h.assigned)
    revenue = bca_mean_difference(np.asarray(spends[Arm.TREATMENT.value]), t.assigned,
                                  np.asarray(spends[Arm.HOLDOUT.value]), h.assigned)
    serve_gap = t.cost_to_serve / t.assigned - h.cost_to_serve / h.assigned
    profit = t.assigned * (revenue.estimate * margin - serve_gap) - t.cashback_cost
    verdict = "POSITIVE" if conversion.low > 0 else "NEGATIVE" if conversion.high < 0 else "INCONCLUSIVE"
    return Results(t, h, conversion, revenue, conversion.estimate * t.assigned, revenue.estimate * t.assigned,
                   profit, mde, verdict, complete, now)


_BASELINE = text("""
WITH audience AS (
  SELECT DISTINCT customer_id FROM segment_memberships
  WHERE workspace_id = :w AND left_at IS NULL AND segment_id = ANY(CAST(:include AS bigint[])))
SELECT count(*) AS customers, count(*) FILTER (WHERE EXISTS (
  SELECT 1 FROM purchases p
  WHERE p.workspace_id = :w AND p.customer_id = a.customer_id AND p.total > 0
    AND p.purchased_at >= CAST(:upto AS timestamptz) - make_interval(days => :days)
    AND p.purchased_at < CAST(:upto AS timestamptz)
    AND (CAST(:goal AS text[]) IS NULL OR EXISTS (
      SELECT 1 FROM purchase_items i WHERE i.workspace_id = :w AND i.purchase_id = p.id AND i.amount > 0
        AND i.category = ANY(CAST(:goal AS text[])))))) AS converted
FROM audience a""")


async def expected_baseline(conn: AsyncConnection, campaign: Row) -> float | None:
    """The share of the included segments' members who made a goal purchase in
    the attribution window before launch (before now, until it launches): the
    holdout's expected rate."""
    upto = campaign.launched_at or datetime.now(UTC)
    row = (await conn.execute(_BASELINE, {"w": campaign.workspace_id, "upto": upto,
                                          "include": list(campaign.include_segment_ids),
                                          "days": campaign.attribution_days, "goal": campaign.goal_categories})).one()
    return row.converted / row.customers if row.customers else None
