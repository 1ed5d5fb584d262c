"""A customer's scores, with the reasons behind them."""

from __future__ import annotations

import datetime
import math
from decimal import Decimal
import strawberry
from strawberry.scalars import JSON

from domain.score_model import EVIDENCE
from gql_api.enums import CustomerType, LifecycleStage, RfmSegment, Trait
from scoring import loyalty

@strawberry.type(description="RFM scores 1-5 within the workspace and the named segment.")
class Rfm:
    recency: int
    frequency: int
    monetary: int
    segment: RfmSegment


@strawberry.type(description="One factor's part of the loyalty index, in index points.")
class LoyaltyFactor:
    name: str
    points: float


@strawberry.type(description="Loyalty 0-100 and what it is made of (the points add up to the index).")
class Loyalty:
    index: float
    factors: list[LoyaltyFactor]


@strawberry.type(description="What scoring knows about a customer, as of `computedAt`.")
class CustomerScores:
    computed_at: datetime.datetime
    purchase_count: int
    frequency: int = strawberry.field(description="Repeat purchase days (BTYD frequency).")
    recency_days: float = strawberry.field(description="Days from first to last purchase (BTYD recency).")
    tenure_days: float = strawberry.field(description="Days since the first purchase (BTYD T).")
    average_repeat_order: Decimal = strawberry.field(description="Mean value of repeat purchase days.")
    total_spend: Decimal
    first_purchase_at: datetime.datetime | None
    last_purchase_at: datetime.datetime | None
    rfm: Rfm | None = strawberry.field(description="Null for customers without purchases.")
    probability_alive: float = strawberry.field(description="BG/NBD P(still a customer).")
    expected_purchases_90d: float
    clv: Decimal = strawberry.field(description="Expected discounted margin over the workspace's horizon.")
    value: Decimal = strawberry.field(description="Spend net of refunds plus CLV.")
    loyalty: Loyalty
    cost_to_serve: Decimal = strawberry.field(description="Staff time, discounts and refunds so far.")
    net_value: Decimal = strawberry.field(description="CLV minus the projected cost to serve.")
    customer_type: CustomerType
    lifecycle_stage: LifecycleStage
    inferred_traits: list[Trait]
    cluster: int | None
    lookalike: float | None = strawberry.field(description="Leads and prospects: likeness to the best customers.")
    evidence: JSON = strawberry.field(description="The numbers behind traits and types.")

    @strawberry.field(description="1 - probabilityAlive.")
    def churn_risk(self) -> float:
        return 1.0 - self.probability_alive

    @classmethod
    def from_row_if_any(cls, row) -> CustomerScores | None:
        """None for a customer not scored yet."""
        return cls.from_row(row) if row is not None else None

    @classmethod
    def from_row(cls, row) -> CustomerScores:
        rfm = None
        if row.rfm_segment is not None:
            rfm = Rfm(recency=row.rfm_r, frequency=row.rfm_f, monetary=row.rfm_m, segment=RfmSegment(row.rfm_segment))
        factors = dict(zip(loyalty.FACTORS, row.loyalty_factors or []))
        evidence = {name: None if math.isnan(v) else v for name, v in zip(EVIDENCE, row.evidence or [])}
        return cls(
            computed_at=row.computed_at, purchase_count=row.purchase_count, frequency=row.frequency,
            recency_days=row.recency, tenure_days=row.tenure, average_repeat_order=row.monetary,
            total_spend=row.total_spend, first_purchase_at=row.first_purchase_at,
            last_purchase_at=row.last_purchase_at, rfm=rfm, probability_alive=row.probability_alive,
            expected_purchases_90d=row.expected_purchases_90d, clv=row.clv, value=row.value,
            loyalty=Loyalty(index=row.loyalty, factors=[LoyaltyFactor(name=f, points=factors.get(f, 0.0))
                                                        for f in loyalty.FACTORS]),
            cost_to_serve=row.cost_to_serve, net_value=row.net_value, customer_type=CustomerType(row.customer_type),
            lifecycle_stage=LifecycleStage(row.lifecycle_stage), inferred_traits=[Trait(t) for t in row.inferred_traits],
            cluster=row.cluster,
            lookalike=row.lookalike, evidence=evidence)
