"""Workspace figures a dashboard shows, each one aggregate query over the
latest scores and the purchase and survey history."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True)
class Cohort:
    month: str  # YYYY-MM of the first purchase
    customers: int
    retention: list[float]  # share buying again in month 1, 2, ... after the first (up to 12)


@dataclass(frozen=True)
class Analytics:
    customers: int
    by_stage: dict[str, int]
    by_type: dict[str, int]
    rfm_grid: list[dict]  # {r, f, customers, value}: recency x frequency scores
    clv_percentiles: dict[str, float]  # p10 .. p99
    clv_total: float
    repeat_purchase_rate: float  # share of buyers with a repeat purchase
    churn_rate: float  # share of buyers whose probability alive is under 0.5
    nps: float | None  # % promoters (9-10) - % detractors (0-6) over survey answers
    survey_answers: int
    cohorts: list[Cohort]


_PERCENTILES = (0.1, 0.25, 0.5, 0.75, 0.9, 0.99)


async def workspace_analytics(conn: AsyncConnection, workspace_id: int, cohort_months: int = 12) -> Analytics:
    w = {"w": workspace_id}
    live = "FROM customers c LEFT JOIN customer_scores s ON s.workspace_id = c.workspace_id AND s.customer_id = c.id " \
           "WHERE c.workspace_id = :w AND c.deleted_at IS NULL"
    customers = await conn.scalar(text(f"SELECT count(*) {live}"), w)
    by_stage = dict((await conn.execute(text(
        f"SELECT coalesce(s.lifecycle_stage, c.lifecycle_stage), count(*) {live} GROUP BY 1"), w)).all())
    by_type = dict((await conn.execute(text(
        f"SELECT s.customer_type, count(*) {live} AND s.customer_type IS NOT NULL GROUP BY 1"), w)).all())
    grid = [{"r": r, "f": f, "customers": n, "value": float(v or 0)} for r, f, n, v in await conn.execute(text(
        f"SELECT s.rfm_r, s.rfm_f, count(*), sum(s.value) {live} AND s.rfm_r IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2"),
        w)]
    quantiles = ", ".join(f"percentile_cont({p}) WITHIN GROUP (ORDER BY s.clv)" for p in _PERCENTILES)
    row = (await conn.execute(text(f"SELECT {quantiles}, sum(s.clv), "
                                   "avg((s.frequency > 0)::int) FILTER (WHERE s.purchase_count > 0), "
                                   "avg((s.probability_alive < 0.5)::int) FILTER (WHERE s.purchase_count > 0) "
                                   f"{live} AND s.purchase_count > 0"), w)).one()
    clv = {f"p{round(p * 100)}": float(v or 0) for p, v in zip(_PERCENTILES, row[:len(_PERCENTILES)])}
    survey = (await conn.execute(text(
        "SELECT count(*), 100.0 * avg((score >= 9)::int) - 100.0 * avg((score <= 6)::int) FROM interactions "
        "WHERE workspace_id = :w AND kind = 'survey'"), w)).one()
    cohorts = await _cohorts(conn, workspace_id, cohort_months)
    n = len(_PERCENTILES)
    return Analytics(customers, by_stage, by_type, grid, clv, float(row[n] or 0), float(row[n + 1] or 0),
                     float(row[n + 2] or 0), float(survey[1]) if survey[0] else None, survey[0], cohorts)


_FIRST_MONTHS = """
    WITH monthly AS (
        SELECT DISTINCT p.customer_id, date_trunc('month', p.purchased_at) AS month
        FROM purchases p JOIN customers c ON c.id = p.customer_id
        WHERE p.workspace_id = :w AND p.total >= 0 AND c.deleted_at IS NULL),
    firsts AS (SELECT customer_id, min(month) AS cohort FROM monthly GROUP BY customer_id)"""


async def _cohorts(conn: AsyncConnection, workspace_id: int, months: int) -> list[Cohort]:
    """Customers by the month of their first purchase (the last `months`
    cohorts), and the share of them buying again in each later month."""
    sizes = dict((await conn.execute(text(_FIRST_MONTHS + """
        SELECT to_char(cohort, 'YYYY-MM'), count(*) FROM firsts GROUP BY cohort ORDER BY cohort DESC LIMIT :k"""),
        {"w": workspace_id, "k": months})).all())
    returns: dict[str, dict[int, int]] = {month: {} for month in sizes}
    rows = await conn.execute(text(_FIRST_MONTHS + """
        SELECT to_char(f.cohort, 'YYYY-MM'),
               ((extract(year FROM m.month) - extract(year FROM f.cohort)) * 12
                + extract(month FROM m.month) - extract(month FROM f.cohort))::int,
               count(*)
        FROM firsts f JOIN monthly m USING (customer_id)
        WHERE m.month > f.cohort AND to_char(f.cohort, 'YYYY-MM') = ANY(:months)
        GROUP BY 1, 2"""), {"w": workspace_id, "months": list(sizes)})
    for month, k, count in rows:
        returns[month][k] = count
    return [Cohort(month, sizes[month], [returns[month].get(k, 0) / sizes[month]
                                         for k in range(1, min(max(returns[month], default=0), 12) + 1)])
            for month in sorted(sizes)]
