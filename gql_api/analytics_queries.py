"""Workspace analytics for dashboards."""

from __future__ import annotations

from decimal import Decimal

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from domain.analytics import workspace_analytics
from domain.campaigns.settings import workspace_time_zone
from domain.loyalty_kpis import MAX_MONTHS, monthly_kpis
from gql_api.errors import bad_input
from gql_api.permissions import READERS


@strawberry.type(description="Customers whose first purchase fell in `month`, and the share buying again in "
                             "each following month (retention[0] is the month after).")
class Cohort:
    month: str
    customers: int
    retention: list[float]


@strawberry.type(description="Loyalty KPIs of one calendar month in the workspace's time zone (see the README's "
                             "definitions).")
class MonthKpis:
    month: str = strawberry.field(description="YYYY-MM.")
    new_customers: int = strawberry.field(description="Customers whose first purchase fell in the month.")
    active_customers: int = strawberry.field(description="Customers with a purchase in the month.")
    retention_rate: float | None = strawberry.field(
        description="The previous month's active customers active again this month, over the previous month's "
                    "active; null when nobody was.")
    repeat_purchase_rate: float | None = strawberry.field(
        description="This month's active customers who had bought in an earlier month, over this month's active.")
    revenue: Decimal = strawberry.field(description="Sales minus refunds dated in the month.")
    survey_answers: int
    survey_average: float | None = strawberry.field(description="Mean survey score (0-10).")
    nps: float | None = strawberry.field(description="% promoters (9-10) minus % detractors (0-6).")


@strawberry.type(description="Figures over the latest scores and the history.")
class WorkspaceAnalytics:
    workspace_id: strawberry.Private[int]
    customers: int
    by_lifecycle_stage: JSON = strawberry.field(description="Stage (as LifecycleStage spells it) -> customers.")
    by_customer_type: JSON = strawberry.field(description="Type (as CustomerType spells it) -> customers (scored "
                                                          "customers).")
    rfm_grid: JSON = strawberry.field(description="[{r, f, customers, value}] over recency x frequency scores "
                                                  "(value: money, as Decimal writes it).")
    clv_percentiles: JSON = strawberry.field(description="p10, p25, p50, p75, p90, p99 of CLV among buyers (money, "
                                                         "as Decimal writes it).")
    clv_total: Decimal
    repeat_purchase_rate: float = strawberry.field(description="Share of buyers with a repeat purchase.")
    churn_rate: float = strawberry.field(description="Share of buyers less likely alive than not.")
    nps: float | None = strawberry.field(description="% promoters (9-10) minus % detractors (0-6); null without "
                                                     "survey answers.")
    survey_answers: int
    cohorts: list[Cohort]

    @strawberry.field(description="Loyalty KPIs month by month, oldest first, the current month last.")
    async def monthly(self, info: Info, months: int = 12) -> list[MonthKpis]:
        if not 1 <= months <= MAX_MONTHS:
            raise bad_input(f"months must be between 1 and {MAX_MONTHS}")
        async with info.context.transaction() as conn:
            found = await monthly_kpis(conn, self.workspace_id, await workspace_time_zone(conn, self.workspace_id),
                                       months)
        return [MonthKpis(**vars(m)) for m in found]


@strawberry.type
class AnalyticsQueries:
    @strawberry.field(permission_classes=READERS, description="Dashboard figures for the workspace.")
    async def analytics(self, info: Info, cohort_months: int = 12) -> WorkspaceAnalytics:
        async with info.context.transaction() as conn:
            found = await workspace_analytics(conn, info.context.api_key.workspace_id, max(1, min(cohort_months, 36)))
        # Keys as the enums spell them (LOYAL, SNOW_LEOPARD); money as the Decimal scalar writes it ("123.45").
        return WorkspaceAnalytics(
            workspace_id=info.context.api_key.workspace_id, customers=found.customers,
            by_lifecycle_stage={k.upper(): n for k, n in found.by_stage.items()},
            by_customer_type={k.upper(): n for k, n in found.by_type.items()},
            rfm_grid=[cell | {"value": f"{cell['value']:.2f}"} for cell in found.rfm_grid],
            clv_percentiles={p: f"{v:.2f}" for p, v in found.clv_percentiles.items()}, clv_total=found.clv_total,
            repeat_purchase_rate=found.repeat_purchase_rate, churn_rate=found.churn_rate, nps=found.nps,
            survey_answers=found.survey_answers,
            cohorts=[Cohort(month=c.month, customers=c.customers, retention=c.retention) for c in found.cohorts])
