"""The offers meant for one customer now: what `me { offers }` shows.

An offer is shown when the customer is in its campaign's TREATMENT arm (a
held-out customer sees nothing of the campaign), the campaign is RUNNING,
the offer is open for them (early access included) and it is not used up
overall (total limit, budget). Each carries its code, when it closes, the
customer's uses left in the current period and a status: RESERVED (a
checkout holds it), USED_UP (no uses left this period) or AVAILABLE. Never
the arm, the budget or the policy.

Ranking: by the expected incremental profit of the offer for this customer,

    uplift(kind) x margin x usual order - redemption share x the offer's cost on that order,

where the usual order is the customer's average order (Gamma-Gamma's
monetary value, else spend over purchases), margin the workspace's scoring
margin, and uplift and redemption share are planning priors per offer kind
(`PRIOR_UPLIFT`, `PRIOR_REDEMPTION`). Ties go to the offer closing first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Row, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.campaigns.offers import expected_cost
from domain.campaigns.redemptions import period_start, window
from domain.score_model import ScoringConfig
from domain.tables import workspaces
from domain.vocab import BudgetKind, LimitPeriod, OfferKind

# How much more likely to buy an offer makes a customer, and how often a
# converting customer uses it: priors for ranking, before any measurement.
PRIOR_UPLIFT = {OfferKind.PERCENT_OFF: 0.06, OfferKind.AMOUNT_OFF: 0.06, OfferKind.CASHBACK: 0.05,
                OfferKind.FREE_SHIPPING: 0.04, OfferKind.POINTS_MULTIPLIER: 0.03, OfferKind.NOTICE: 0.01}
PRIOR_REDEMPTION = 0.3


@dataclass(frozen=True)
class CustomerOffer:
    offer: Row
    code: str | None
    closes_at: datetime | None
    uses_left: int | None  # None: no per-customer limit
    status: str  # AVAILABLE, RESERVED, USED_UP
    rank_value: float


_OFFERS = text("""
SELECT o.*, a.opens_at AS assignment_opens_at, c.starts_at AS campaign_starts_at, c.ends_at AS campaign_ends_at,
       c.time_zone AS campaign_time_zone, c.budget_kind, c.budget_limit, c.budget_used, oc.code AS own_code,
       s.monetary AS usual_order, CASE WHEN s.purchase_count > 0 THEN s.total_spend / s.purchase_count END AS average
FROM campaign_assignments a
JOIN campaigns c ON c.workspace_id = a.workspace_id AND c.id = a.campaign_id AND c.status = 'running'
JOIN offers o ON o.workspace_id = a.workspace_id AND o.campaign_id = c.id AND o.deleted_at IS NULL
LEFT JOIN offer_codes oc ON oc.offer_id = o.id AND oc.customer_id = a.customer_id
LEFT JOIN customer_scores s ON s.workspace_id = a.workspace_id AND s.customer_id = a.customer_id
WHERE a.workspace_id = :w AND a.customer_id = :me AND a.arm = 'treatment'
ORDER BY o.id""")

_USES = text("""
SELECT offer_id, period_start, used, false AS reserved FROM offer_usage
WHERE workspace_id = :w AND customer_id = :me AND offer_id = ANY(CAST(:ids AS bigint[]))
UNION ALL
SELECT offer_id, NULL, 0, true FROM redemptions
WHERE workspace_id = :w AND customer_id = :me AND status = 'reserved' AND expires_at > now()
  AND offer_id = ANY(CAST(:ids AS bigint[]))""")


class _Campaign:
    """The campaign columns `window` reads, from a row of _OFFERS."""

    def __init__(self, row: Row):
        self.starts_at, self.ends_at = row.campaign_starts_at, row.campaign_ends_at


def _spent(row: Row) -> bool:
    if row.total_limit is not None and row.total_used >= row.total_limit:
        return True
    if row.budget_kind == BudgetKind.COUNT.value:
        return row.budget_used + 1 > row.budget_limit
    return row.budget_kind == BudgetKind.AMOUNT.value and row.budget_used >= row.budget_limit


async def offers_for(conn: AsyncConnection, workspace_id: int, customer_id: int,
                     now: datetime | None = None) -> list[CustomerOffer]:
    now = now or datetime.now(UTC)
    rows = [r for r in await conn.execute(_OFFERS, {"w": workspace_id, "me": customer_id})
            if _open(r, now) and not _spent(r)]
    if not rows:
        return []
    used: dict[tuple[int, datetime], int] = {}
    reserved: set[int] = set()
    for offer_id, start, count, is_reservation in await conn.execute(
            _USES, {"w": workspace_id, "me": customer_id, "ids": [r.id for r in rows]}):
        if is_reservation:
            reserved.add(offer_id)
        else:
            used[(offer_id, start)] = count
    settings = await conn.scalar(select(workspaces.c.settings).where(workspaces.c.id == workspace_id)) or {}
    margin = ScoringConfig.from_settings(settings).margin
    found = []
    for row in rows:
        start = period_start(LimitPeriod(row.per_customer_period), row.campaign_time_zone, now)
        left = None if row.per_customer_limit is None else max(
            row.per_customer_limit - used.get((row.id, start), 0), 0)
        status = "RESERVED" if row.id in reserved else "USED_UP" if left == 0 else "AVAILABLE"
        found.append(CustomerOffer(row, row.own_code or row.shared_code, window(row, _Campaign(row),
                                                                                  row.assignment_opens_at)[1],
                                   left, status, _rank_value(row, margin)))
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(found, key=lambda o: (-o.rank_value, o.closes_at or far, o.offer.id))


def _open(row: Row, now: datetime) -> bool:
    start, end = window(row, _Campaign(row), row.assignment_opens_at)
    return (start is None or start <= now) and (end is None or now < end)


def _rank_value(row: Row, margin: float) -> float:
    order = row.usual_order or row.average or 0.0
    kind = OfferKind(row.kind)
    return PRIOR_UPLIFT[kind] * margin * order - PRIOR_REDEMPTION * expected_cost(row, order)
