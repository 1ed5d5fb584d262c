"""Campaign, Offer, Redemption and what campaign queries return."""

from __future__ import annotations

import datetime
from decimal import Decimal

import strawberry
from strawberry.types import Info

from domain.campaigns import audience, lifecycle, results
from domain.campaigns.policies import Policy, campaign_policies, workspace_policies
from domain.campaigns.results import campaign_results, expected_baseline
from domain.campaigns.redemptions import redemptions_of
from domain.segments import segments_by_id
from domain.vocab import CampaignChannel, CampaignStatus as Status
from gql_api.campaigns.enums import (Arm, AudienceReason, BudgetKind, CampaignChannel as Channel, CampaignObjective,
                                     CampaignStatus, CodeMode, LimitPeriod, OfferKind, RedemptionStatus, Verdict)
from gql_api.enums import CustomerType, Trait
from gql_api.errors import bad_input
from gql_api.ids import MalformedId, from_cursor, to_cursor, to_global_id
from gql_api.node import Node
from gql_api.pagination import PageInfo
from gql_api.segments.types import Segment
from scoring.uplift import minimum_detectable_effect

MAX_PAGE = 100


@strawberry.type(description="How one kind of customer is treated by campaigns (see the README's policy table).")
class CustomerTypePolicy:
    customer_type: CustomerType | None = strawberry.field(description="The customer type it applies to, or null.")
    trait: Trait | None = strawberry.field(description="The trait (staff-set, else inferred) it applies to, or null.")
    exclude_offer_kinds: list[OfferKind] = strawberry.field(
        description="Left out of any campaign offering one of these kinds.")
    join_offer_kinds: list[OfferKind] = strawberry.field(
        description="Brought into any campaign offering one of these kinds, even outside its segments.")
    early_access_hours: int = strawberry.field(description="Their offers open this many hours early.")
    description: str

    @strawberry.field(description="What audience reports call it: CHURNER, BARGAINER, ...")
    def label(self) -> str:
        return (self.customer_type or self.trait).name

    @classmethod
    def from_domain(cls, policy: Policy) -> CustomerTypePolicy:
        return cls(customer_type=CustomerType(policy.customer_type.value) if policy.customer_type else None,
                   trait=Trait(policy.trait.value) if policy.trait else None,
                   exclude_offer_kinds=sorted((OfferKind(k.value) for k in policy.exclude_offer_kinds),
                                              key=lambda k: k.name),
                   join_offer_kinds=sorted((OfferKind(k.value) for k in policy.join_offer_kinds),
                                           key=lambda k: k.name),
                   early_access_hours=policy.early_access_hours, description=policy.description)


@strawberry.type(description="An offer of a campaign: what it gives, on what terms, and how much of it is used.")
class Offer(Node):
    campaign_pk: strawberry.Private[int]
    kind: OfferKind
    value: Decimal | None = strawberry.field(description="Percent for PERCENT_OFF, an amount for AMOUNT_OFF and "
                                                         "CASHBACK, a factor for POINTS_MULTIPLIER.")
    currency: str
    min_spend: Decimal | None
    max_discount: Decimal | None = strawberry.field(description="A cap on what PERCENT_OFF or CASHBACK gives.")
    categories: list[str] | None = strawberry.field(description="The cart items it applies to; null: the whole cart.")
    valid_from: datetime.datetime | None
    valid_to: datetime.datetime | None
    per_customer_limit: int | None
    per_customer_period: LimitPeriod
    total_limit: int | None
    total_used: int
    stackable: bool = strawberry.field(description="Combines with other stackable offers on one order.")
    code_mode: CodeMode
    shared_code: str | None
    title_fa: str | None
    title_en: str | None
    terms_fa: str | None
    terms_en: str | None
    created_at: datetime.datetime
    updated_at: datetime.datetime

    @strawberry.field(description="The campaign it belongs to.")
    def campaign_id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Campaign", self.campaign_pk))

    @classmethod
    def from_row(cls, row) -> Offer:
        return cls(pk=row.id, campaign_pk=row.campaign_id, kind=OfferKind(row.kind), value=row.value,
                   currency=row.currency, min_spend=row.min_spend, max_discount=row.max_discount,
                   categories=row.categories, valid_from=row.valid_from, valid_to=row.valid_to,
                   per_customer_limit=row.per_customer_limit, per_customer_period=LimitPeriod(row.per_customer_period),
                   total_limit=row.total_limit, total_used=row.total_used, stackable=row.stackable,
                   code_mode=CodeMode(row.code_mode), shared_code=row.shared_code, title_fa=row.title_fa,
                   title_en=row.title_en, terms_fa=row.terms_fa, terms_en=row.terms_en, created_at=row.created_at,
                   updated_at=row.updated_at)


@strawberry.type(description="The campaign's budget: redemptions (COUNT) or money given (AMOUNT).")
class CampaignBudget:
    kind: BudgetKind
    limit: Decimal
    used: Decimal

    @strawberry.field
    def remaining(self) -> Decimal:
        return max(self.limit - self.used, Decimal(0))


@strawberry.type(description="At most `contacts` campaign contacts (treatment assignments, across campaigns) per "
                             "customer in `days` days.")
class FrequencyCap:
    contacts: int
    days: int


@strawberry.type(description="Candidates left out for one reason (and policy).")
class AudienceExclusion:
    reason: AudienceReason
    policy: str | None = strawberry.field(description="For POLICY: which one (CHURNER, VAMPIRE, ...).")
    customers: int
    explanation: str = strawberry.field(description='e.g. "1,240 left out by the CHURNER policy (no CASHBACK, '
                                                    'PERCENT_OFF ... offers)".')


@strawberry.type(description="Customers a policy brought in from outside the segments.")
class AudienceJoin:
    policy: str
    customers: int


@strawberry.type(description="Who a campaign targets, reason by reason: candidates (the included segments' "
                             "members and those policies bring in), those left out and why (each counted under the "
                             "first reason that applies), then the split into the two arms.")
class AudienceReport:
    candidates: int
    from_segments: int
    joined: list[AudienceJoin]
    left_out: list[AudienceExclusion]
    treatment: int
    holdout: int
    minimum_detectable_effect: float | None = strawberry.field(
        description="The smallest conversion uplift (absolute, 0-1) these arms can detect (two-sided 5%, power "
                    "80%) at the expected baseline rate; null when it cannot be said.")
    expected_baseline: float | None = strawberry.field(
        description="The baseline conversion rate the MDE assumes: the share of the included segments' members "
                    "who made a goal purchase in the attribution window before launch (or before now, for a "
                    "preview).")

    @classmethod
    def from_domain(cls, report: audience.AudienceReport, channel: CampaignChannel, policies: tuple[Policy, ...],
                    baseline: float | None) -> AudienceReport:
        by_label = {p.label: p for p in policies}
        return cls(candidates=report.candidates, from_segments=report.from_segments,
                   joined=[AudienceJoin(policy=k, customers=v) for k, v in sorted(report.joined.items())],
                   left_out=[AudienceExclusion(reason=AudienceReason(reason), policy=label, customers=n,
                                               explanation=audience.explain(reason, by_label.get(label), n, channel))
                             for reason, label, n in report.left_out],
                   treatment=report.treatment, holdout=report.holdout,
                   minimum_detectable_effect=minimum_detectable_effect(report.treatment, report.holdout,
                                                                       baseline or 0.0),
                   expected_baseline=baseline)


@strawberry.type(description="An estimate with its 95% interval.")
class UpliftInterval:
    estimate: float
    low: float
    high: float


@strawberry.type(description="An amount of money estimated with its 95% interval.")
class MoneyInterval:
    estimate: Decimal
    low: Decimal
    high: Decimal


@strawberry.type(description="One arm's outcome over the attribution window (intention to treat: everyone "
                             "assigned counts, whether or not they opened anything).")
class CampaignArmResult:
    arm: Arm
    assigned: int
    reached: int | None = strawberry.field(description="Treated customers reported DELIVERED or later; null for "
                                                       "the holdout.")
    conversions: int = strawberry.field(description="Customers with a goal purchase in their window (one each).")
    conversion_rate: float
    revenue: Decimal
    revenue_per_customer: Decimal = strawberry.field(description="Over everyone assigned, zero spenders included.")
    discount_cost: Decimal
    cashback_cost: Decimal
    cost_to_serve: Decimal

    @classmethod
    def from_domain(cls, arm: results.ArmResult) -> CampaignArmResult:
        return cls(arm=Arm(arm.arm.value), assigned=arm.assigned, reached=arm.reached, conversions=arm.conversions,
                   conversion_rate=arm.conversion_rate, revenue=arm.revenue,
                   revenue_per_customer=arm.revenue_per_customer, discount_cost=arm.discount_cost,
                   cashback_cost=arm.cashback_cost, cost_to_serve=arm.cost_to_serve)


def _interval(found, kind: type = UpliftInterval):
    return kind(estimate=found.estimate, low=found.low, high=found.high) if found else None


@strawberry.type(description="Did it help? Treatment against holdout, computed now.")
class CampaignResults:
    treatment: CampaignArmResult
    holdout: CampaignArmResult
    conversion_uplift: UpliftInterval | None = strawberry.field(
        description="Treatment rate minus holdout rate, with Newcombe's hybrid score interval (method 10).")
    revenue_per_customer_uplift: MoneyInterval | None = strawberry.field(
        description="Difference in revenue per customer, with a BCa bootstrap interval (2000 draws, fixed seed).")
    incremental_conversions: float | None
    incremental_revenue: Decimal | None
    incremental_profit: Decimal | None = strawberry.field(
        description="Treated x (revenue uplift per customer x margin - extra cost to serve) - cashback paid.")
    minimum_detectable_effect: float | None
    verdict: Verdict
    attribution_complete: bool = strawberry.field(description="Every assigned customer's window has closed.")
    computed_at: datetime.datetime

    @classmethod
    def from_domain(cls, found: results.Results) -> CampaignResults:
        return cls(treatment=CampaignArmResult.from_domain(found.treatment),
                   holdout=CampaignArmResult.from_domain(found.holdout),
                   conversion_uplift=_interval(found.conversion_uplift),
                   revenue_per_customer_uplift=_interval(found.revenue_uplift, MoneyInterval),
                   incremental_conversions=found.incremental_conversions,
                   incremental_revenue=found.incremental_revenue, incremental_profit=found.incremental_profit,
                   minimum_detectable_effect=found.minimum_detectable_effect, verdict=Verdict(found.verdict),
                   attribution_complete=found.attribution_complete, computed_at=found.computed_at)


@strawberry.type(description="An offer reserved, confirmed or released for one checkout.")
class Redemption(Node):
    offer_pk: strawberry.Private[int]
    customer_pk: strawberry.Private[int]
    status: RedemptionStatus
    idempotency_key: str
    order_id: str | None
    code: str | None
    discount: Decimal = strawberry.field(description="Off the cart's price now.")
    cashback: Decimal = strawberry.field(description="Paid back after the purchase.")
    cart_total: Decimal
    currency: str
    reserved_at: datetime.datetime
    expires_at: datetime.datetime = strawberry.field(description="A RESERVED redemption not confirmed by then "
                                                                 "expires and gives its uses back.")
    confirmed_at: datetime.datetime | None
    released_at: datetime.datetime | None
    release_reason: str | None

    @strawberry.field
    def offer_id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Offer", self.offer_pk))

    @strawberry.field
    def customer_id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Customer", self.customer_pk))

    @classmethod
    def from_row(cls, row) -> Redemption:
        return cls(pk=row.id, offer_pk=row.offer_id, customer_pk=row.customer_id,
                   status=RedemptionStatus(row.status), idempotency_key=row.idempotency_key, order_id=row.order_id,
                   code=row.code, discount=row.discount, cashback=row.cashback, cart_total=row.cart_total,
                   currency=row.currency, reserved_at=row.reserved_at, expires_at=row.expires_at,
                   confirmed_at=row.confirmed_at, released_at=row.released_at, release_reason=row.release_reason)


@strawberry.type
class RedemptionEdge:
    node: Redemption
    cursor: str


@strawberry.type
class RedemptionConnection:
    edges: list[RedemptionEdge]
    page_info: PageInfo


def page_size(first: int) -> int:
    if not 0 < first <= MAX_PAGE:
        raise bad_input(f"first must be between 1 and {MAX_PAGE}")
    return first


def before_id(after: str | None) -> int | None:
    """The id a newest-first page continues below."""
    if after is None:
        return None
    try:
        return int(from_cursor(after, 1)[0])
    except (MalformedId, ValueError):
        raise bad_input(f"after: {after!r} is not a cursor of this list") from None


@strawberry.type(description="A campaign aimed at segments: its audience, offers, budget, state and results.")
class Campaign(Node):
    row: strawberry.Private[object]
    name: str
    objective: CampaignObjective
    channel: Channel
    status: CampaignStatus
    starts_at: datetime.datetime | None
    ends_at: datetime.datetime | None
    time_zone: str = strawberry.field(description="Where its days begin (per-day limits); the workspace's by "
                                                  "default.")
    holdout_basis_points: int = strawberry.field(description="The share held out, in 1/10000 (1000 = 10%).")
    attribution_days: int
    goal_categories: list[str] | None = strawberry.field(
        description="A conversion is a purchase with an item in these categories; null: any purchase.")
    launched_at: datetime.datetime | None
    ended_at: datetime.datetime | None
    created_at: datetime.datetime
    updated_at: datetime.datetime

    @strawberry.field
    def budget(self) -> CampaignBudget | None:
        r = self.row
        if not r.budget_kind:
            return None
        # A COUNT budget counts redemptions: whole numbers, not money.
        shown = (lambda v: v.quantize(Decimal(1))) if r.budget_kind == "count" else (lambda v: v)
        return CampaignBudget(kind=BudgetKind(r.budget_kind), limit=shown(r.budget_limit), used=shown(r.budget_used))

    @strawberry.field
    def frequency_cap(self) -> FrequencyCap | None:
        r = self.row
        return FrequencyCap(contacts=r.frequency_cap, days=r.frequency_cap_days) if r.frequency_cap else None

    @strawberry.field(description="Segments whose members it targets.")
    async def include_segments(self, info: Info) -> list[Segment]:
        return await _segments(info, self.row.include_segment_ids)

    @strawberry.field(description="Segments whose members it leaves out.")
    async def exclude_segments(self, info: Info) -> list[Segment]:
        return await _segments(info, self.row.exclude_segment_ids)

    @strawberry.field(description="The customer-type policies it applies: its own set, else the workspace's.")
    async def policies(self, info: Info) -> list[CustomerTypePolicy]:
        return [CustomerTypePolicy.from_domain(p) for p in await _policies(info, self.row)]

    @strawberry.field(description="Whether it has a policy set of its own instead of the workspace's.")
    def overrides_policies(self) -> bool:
        return self.row.policies is not None

    @strawberry.field(description="Its offers, oldest first.")
    async def offers(self, info: Info) -> list[Offer]:
        return [Offer.from_row(r) for r in await info.context.loaders.offers_by_campaign.load(self.pk)]

    @strawberry.field(description="Who it targets: for a DRAFT or SCHEDULED campaign, what a launch now would find "
                                  "(computed, nothing written); once launched, what the launch found.")
    async def audience(self, info: Info) -> AudienceReport:
        row = self.row
        async with info.context.transaction() as conn:
            policies = campaign_policies(row.policies, await workspace_policies(conn, row.workspace_id))
            if row.audience_report is not None:
                report = audience.AudienceReport.from_json(row.audience_report)
            else:
                targeting = await audience.targeting_for(conn, row, global_id=to_global_id)
                report = await audience.preview(conn, targeting)
            baseline = await expected_baseline(conn, row)
        return AudienceReport.from_domain(report, CampaignChannel(row.channel), policies, baseline)

    @strawberry.field(description="Customers assigned so far, the launch's and those who joined since.")
    async def assigned(self, info: Info) -> int:
        if self.row.launched_at is None:
            return 0
        async with info.context.transaction() as conn:
            return await audience.assigned_count(conn, self.row.workspace_id, self.pk)

    @strawberry.field(description="Treatment against holdout; null before launch.")
    async def results(self, info: Info) -> CampaignResults | None:
        if self.row.launched_at is None:
            return None
        async with info.context.transaction() as conn:
            return CampaignResults.from_domain(await campaign_results(conn, self.row))

    @strawberry.field(description="The moves its state allows now (SCHEDULE, LAUNCH, PAUSE, RESUME, END, ARCHIVE).")
    def allowed_moves(self) -> list[str]:
        status = Status(self.row.status)
        return [name.upper() for name, (sources, _) in lifecycle.MOVES.items() if status in sources]

    @strawberry.field(description="Its redemptions, newest first.")
    async def redemptions(self, info: Info, first: int = 20, after: str | None = None) -> RedemptionConnection:
        size, below = page_size(first), before_id(after)
        async with info.context.transaction() as conn:
            rows, more = await redemptions_of(conn, self.row.workspace_id, self.pk, size, below)
        edges = [RedemptionEdge(node=Redemption.from_row(r), cursor=to_cursor(r.id)) for r in rows]
        return RedemptionConnection(edges=edges, page_info=PageInfo(has_next_page=more,
                                                                    end_cursor=edges[-1].cursor if edges else None))

    @classmethod
    def from_row(cls, row) -> Campaign:
        return cls(pk=row.id, row=row, name=row.name, objective=CampaignObjective(row.objective),
                   channel=Channel(row.channel), status=CampaignStatus(row.status), starts_at=row.starts_at,
                   ends_at=row.ends_at, time_zone=row.time_zone, holdout_basis_points=row.holdout_bp,
                   attribution_days=row.attribution_days, goal_categories=row.goal_categories,
                   launched_at=row.launched_at, ended_at=row.ended_at, created_at=row.created_at,
                   updated_at=row.updated_at)


async def _segments(info: Info, ids: list[int]) -> list[Segment]:
    if not ids:
        return []
    async with info.context.transaction() as conn:
        found = await segments_by_id(conn, info.context.api_key.workspace_id, list(ids))
    return [Segment.from_row(found[i]) for i in ids if i in found]


async def _policies(info: Info, row) -> tuple[Policy, ...]:
    async with info.context.transaction() as conn:
        return campaign_policies(row.policies, await workspace_policies(conn, row.workspace_id))


@strawberry.type
class CampaignEdge:
    node: Campaign
    cursor: str


@strawberry.type
class CampaignConnection:
    edges: list[CampaignEdge]
    page_info: PageInfo
    total_count: int
