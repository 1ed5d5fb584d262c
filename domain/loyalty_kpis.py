"""Loyalty KPIs month by month, and what each segment buys.

Months are calendar months in the workspace's time zone (Asia/Tehran by
default), so a purchase at 01:00 Tehran time on the 1st counts in the month
it began there. Sales count (positive totals); refunds only take revenue
back. Deleted customers are left out.

- new customers: first purchase in the month;
- active customers: at least one purchase in the month;
- retention rate: the previous month's active customers who were active
  again this month, over the previous month's active (null when nobody was);
- repeat purchase rate: this month's active customers who had bought in an
  earlier month, over this month's active (null when nobody was);
- revenue: sales minus refunds dated in the month;
- surveys: answers in the month, their mean (0-10) and the NPS: % promoters
  (9-10) minus % detractors (0-6).

Category affinity compares a segment's spend with the workspace's: each
category's share of the members' item spend, against its share of everyone's;
the index is the ratio (1.0: they buy it like everyone; 2.0: twice as much of
their basket). The categories that set a segment apart are what product
development looks at.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

MAX_MONTHS = 36
MAX_CATEGORIES = 100
MAX_DAYS = 3650


@dataclass(frozen=True)
class MonthKpis:
    month: str  # YYYY-MM
    new_customers: int
    active_customers: int
    retention_rate: float | None
    repeat_purchase_rate: float | None
    revenue: float
    survey_answers: int
    survey_average: float | None
    nps: float | None


_MONTHLY = text("""
WITH months AS (
  SELECT generate_series(date_trunc('month', now() AT TIME ZONE :tz) - make_interval(months => :k - 1),
                         date_trunc('month', now() AT TIME ZONE :tz), interval '1 month') AS month),
sales AS (
  SELECT p.customer_id, date_trunc('month', p.purchased_at AT TIME ZONE :tz) AS month, p.total
  FROM purchases p JOIN customers c ON c.workspace_id = p.workspace_id AND c.id = p.customer_id
  WHERE p.workspace_id = :w AND c.deleted_at IS NULL),
active AS (SELECT DISTINCT customer_id, month FROM sales WHERE total > 0),
firsts AS (SELECT customer_id, min(month) AS month FROM active GROUP BY customer_id),
per_month AS (
  SELECT a.month, count(*) AS active,
         count(*) FILTER (WHERE f.month < a.month) AS returning,
         count(*) FILTER (WHERE f.month = a.month) AS new,
         count(*) FILTER (WHERE EXISTS (SELECT 1 FROM active b WHERE b.customer_id = a.customer_id
                                          AND b.month = a.month - interval '1 month')) AS retained
  FROM active a JOIN firsts f USING (customer_id) GROUP BY a.month),
revenue AS (SELECT month, sum(total) AS revenue FROM sales GROUP BY month),
surveys AS (
  SELECT date_trunc('month', i.occurred_at AT TIME ZONE :tz) AS month, count(*) AS answers, avg(i.score) AS average,
         100.0 * avg((i.score >= 9)::int) - 100.0 * avg((i.score <= 6)::int) AS nps
  FROM interactions i JOIN customers c ON c.workspace_id = i.workspace_id AND c.id = i.customer_id
  WHERE i.workspace_id = :w AND i.kind = 'survey' AND c.deleted_at IS NULL GROUP BY 1)
SELECT to_char(m.month, 'YYYY-MM') AS month, coalesce(p.new, 0) AS new, coalesce(p.active, 0) AS active,
       coalesce(p.retained, 0) AS retained, coalesce(before.active, 0) AS previous_active,
       coalesce(p.returning, 0) AS returning, coalesce(r.revenue, 0) AS revenue,
       coalesce(s.answers, 0) AS answers, s.average, s.nps
FROM months m
LEFT JOIN per_month p ON p.month = m.month
LEFT JOIN per_month before ON before.month = m.month - interval '1 month'
LEFT JOIN revenue r ON r.month = m.month
LEFT JOIN surveys s ON s.month = m.month
ORDER BY m.month""")


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


async def monthly_kpis(conn: AsyncConnection, workspace_id: int, time_zone: str, months: int) -> list[MonthKpis]:
    """The last `months` calendar months, the current one included, oldest first."""
    rows = await conn.execute(_MONTHLY, {"w": workspace_id, "tz": time_zone, "k": months})
    return [MonthKpis(month=r.month, new_customers=r.new, active_customers=r.active,
                      retention_rate=_share(r.retained, r.previous_active),
                      repeat_purchase_rate=_share(r.returning, r.active), revenue=float(r.revenue),
                      survey_answers=r.answers, survey_average=float(r.average) if r.average is not None else None,
                      nps=float(r.nps) if r.nps is not None else None)
            for r in rows]


@dataclass(frozen=True)
class CategoryAffinity:
    category: str
    spend: float  # the members' spend on it
    buyers: int  # members who bought it
    share: float  # of the members' item spend
    workspace_share: float  # of everyone's item spend
    index: float | None  # share / workspace_share (null where the workspace's share is not positive)


_AFFINITY = text("""
WITH members AS (
  SELECT customer_id FROM segment_memberships WHERE workspace_id = :w AND segment_id = :s AND left_at IS NULL),
items AS (
  SELECT i.category, i.amount, p.customer_id, (m.customer_id IS NOT NULL) AS inside
  FROM purchase_items i
  JOIN purchases p ON p.workspace_id = i.workspace_id AND p.id = i.purchase_id
  JOIN customers c ON c.workspace_id = p.workspace_id AND c.id = p.customer_id AND c.deleted_at IS NULL
  LEFT JOIN members m ON m.customer_id = p.customer_id
  WHERE i.workspace_id = :w AND i.category IS NOT NULL
    AND p.purchased_at >= now() - make_interval(days => :days))
SELECT category, coalesce(sum(amount) FILTER (WHERE inside), 0) AS spend, sum(amount) AS everyone,
       count(DISTINCT customer_id) FILTER (WHERE inside AND amount > 0) AS buyers
FROM items GROUP BY category""")


async def category_affinity(conn: AsyncConnection, workspace_id: int, segment_id: int, days: int,
                            first: int) -> list[CategoryAffinity]:
    """The categories the segment's members spent most on in the last `days`
    days (at most `first`), each against the workspace's share."""
    rows = list(await conn.execute(_AFFINITY, {"w": workspace_id, "s": segment_id, "days": days}))
    inside = sum(max(float(r.spend), 0.0) for r in rows)
    everyone = sum(max(float(r.everyone), 0.0) for r in rows)
    found = []
    for r in rows:
        if r.spend <= 0:
            continue
        share = float(r.spend) / inside
        overall = float(r.everyone) / everyone if everyone > 0 else 0.0
        found.append(CategoryAffinity(category=r.category, spend=float(r.spend), buyers=r.buyers, share=share,
                                      workspace_share=overall, index=share / overall if overall > 0 else None))
    found.sort(key=lambda a: (-a.spend, a.category))
    return found[:first]
