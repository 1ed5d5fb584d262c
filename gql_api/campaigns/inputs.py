"""Campaign, offer and policy inputs, and their translation to the domain's.

Update inputs leave out what does not change: a field left out is UNSET and
stays as it is; a field given as null is cleared (where null means something,
such as "no end date" or "no budget").
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import strawberry

from domain import vocab
from domain.campaigns.campaigns import CampaignInput
from domain.campaigns.offers import Cart, CartItem, OfferTerms
from domain.campaigns.policies import Policy
from domain.errors import DomainError, ErrorCode, camel
from gql_api.campaigns.enums import BudgetKind, CampaignChannel, CampaignObjective, CodeMode, LimitPeriod, OfferKind
from gql_api.enums import CustomerType, Trait
from gql_api.errors import input_pk


@strawberry.input(description="A redemption budget (COUNT) or a money budget (AMOUNT: discount and cashback given).")
class BudgetInput:
    kind: BudgetKind
    limit: Decimal


@strawberry.input(description="At most `contacts` campaign contacts per customer in `days` days, across campaigns.")
class FrequencyCapInput:
    contacts: int
    days: int


@strawberry.input(description="How campaigns treat one customer type or trait; give exactly one of the two.")
class CustomerTypePolicyInput:
    customer_type: CustomerType | None = None
    trait: Trait | None = None
    exclude_offer_kinds: list[OfferKind] = strawberry.field(default_factory=list)
    join_offer_kinds: list[OfferKind] = strawberry.field(default_factory=list)
    early_access_hours: int = 0
    description: str = ""


@strawberry.input(description="An offer's terms. Percentages are 0-100; amounts are in `currency` (the "
                              "workspace's when left out).")
class OfferInput:
    kind: OfferKind
    value: Decimal | None = strawberry.field(default=None, description="Percent (PERCENT_OFF, CASHBACK), amount "
                                                                       "(AMOUNT_OFF) or factor (POINTS_MULTIPLIER).")
    currency: str | None = None
    min_spend: Decimal | None = None
    max_discount: Decimal | None = None
    categories: list[str] | None = None
    valid_from: datetime.datetime | None = None
    valid_to: datetime.datetime | None = None
    per_customer_limit: int | None = strawberry.field(default=1, description="Uses per customer per period; "
                                                                             "null: no limit.")
    per_customer_period: LimitPeriod = LimitPeriod.TOTAL
    total_limit: int | None = None
    stackable: bool = False
    code_mode: CodeMode = CodeMode.AUTO
    shared_code: str | None = None
    title_fa: str | None = None
    title_en: str | None = None
    terms_fa: str | None = None
    terms_en: str | None = None


@strawberry.input(description="Only the terms given change; before launch any of them, while the campaign runs "
                              "only titles, texts, validTo and totalLimit.")
class OfferUpdateInput:
    id: strawberry.ID
    kind: OfferKind | None = strawberry.UNSET
    value: Decimal | None = strawberry.UNSET
    min_spend: Decimal | None = strawberry.UNSET
    max_discount: Decimal | None = strawberry.UNSET
    categories: list[str] | None = strawberry.UNSET
    valid_from: datetime.datetime | None = strawberry.UNSET
    valid_to: datetime.datetime | None = strawberry.UNSET
    per_customer_limit: int | None = strawberry.UNSET
    per_customer_period: LimitPeriod | None = strawberry.UNSET
    total_limit: int | None = strawberry.UNSET
    stackable: bool | None = strawberry.UNSET
    code_mode: CodeMode | None = strawberry.UNSET
    shared_code: str | None = strawberry.UNSET
    title_fa: str | None = strawberry.UNSET
    title_en: str | None = strawberry.UNSET
    terms_fa: str | None = strawberry.UNSET
    terms_en: str | None = strawberry.UNSET


@strawberry.input
class CampaignCreateInput:
    name: str
    channel: CampaignChannel
    objective: CampaignObjective = CampaignObjective.RETENTION
    starts_at: datetime.datetime | None = strawberry.field(default=None, description="Needed to schedule; a "
                                                                                     "launch starts now.")
    ends_at: datetime.datetime | None = None
    time_zone: str | None = strawberry.field(default=None, description="IANA name; the workspace's by default.")
    include_segment_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    exclude_segment_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    holdout_basis_points: int = strawberry.field(default=1000, description="0 to 5000; 1000 = 10% held out.")
    attribution_days: int = 14
    goal_categories: list[str] | None = strawberry.field(default=None, description="null: any purchase converts.")
    budget: BudgetInput | None = None
    frequency_cap: FrequencyCapInput | None = None
    policies: list[CustomerTypePolicyInput] | None = strawberry.field(
        default=None, description="A policy set of the campaign's own; null: the workspace's (customerTypePolicySet).")
    offers: list[OfferInput] = strawberry.field(default_factory=list)


@strawberry.input(description="Only the fields given change, if the campaign's state allows (see the README).")
class CampaignUpdateInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    channel: CampaignChannel | None = strawberry.UNSET
    objective: CampaignObjective | None = strawberry.UNSET
    starts_at: datetime.datetime | None = strawberry.UNSET
    ends_at: datetime.datetime | None = strawberry.UNSET
    time_zone: str | None = strawberry.UNSET
    include_segment_ids: list[strawberry.ID] | None = strawberry.UNSET
    exclude_segment_ids: list[strawberry.ID] | None = strawberry.UNSET
    holdout_basis_points: int | None = strawberry.UNSET
    attribution_days: int | None = strawberry.UNSET
    goal_categories: list[str] | None = strawberry.UNSET
    budget: BudgetInput | None = strawberry.UNSET
    frequency_cap: FrequencyCapInput | None = strawberry.UNSET
    policies: list[CustomerTypePolicyInput] | None = strawberry.UNSET


@strawberry.input
class CartItemInput:
    amount: Decimal = strawberry.field(description="The line's amount (price x quantity).")
    category: str | None = None
    product: str | None = None
    quantity: Decimal = Decimal(1)


@strawberry.input(description="What is being bought: the total, and the items when the offer is for categories.")
class CartInput:
    total: Decimal
    currency: str
    items: list[CartItemInput] = strawberry.field(default_factory=list)
    shipping: Decimal = Decimal(0)


def _enum(value, target):
    return None if value is None else target(value.value)


def policy_to_domain(p: CustomerTypePolicyInput) -> Policy:
    return Policy(customer_type=_enum(p.customer_type, vocab.CustomerType), trait=_enum(p.trait, vocab.Trait),
                  exclude_offer_kinds=frozenset(vocab.OfferKind(k.value) for k in p.exclude_offer_kinds),
                  join_offer_kinds=frozenset(vocab.OfferKind(k.value) for k in p.join_offer_kinds),
                  early_access_hours=p.early_access_hours, description=p.description)


def _segment_pks(ids: list[strawberry.ID], field: str) -> list[int]:
    return [input_pk(s, "Segment", f"{field}.{i}") for i, s in enumerate(ids)]


_ENUM_TERMS = {"kind": vocab.OfferKind, "per_customer_period": vocab.LimitPeriod, "code_mode": vocab.CodeMode}


def offer_to_domain(o: OfferInput) -> OfferTerms:
    values = {name: getattr(o, name) for name in OfferTerms.__dataclass_fields__}
    return OfferTerms(**values | {name: _enum(values[name], kind) for name, kind in _ENUM_TERMS.items()})


def offer_changes(o: OfferUpdateInput) -> dict:
    """Term name -> new value, for the terms given."""
    changes = {}
    for name in OfferTerms.__dataclass_fields__:
        value = getattr(o, name, strawberry.UNSET)
        if value is not strawberry.UNSET:
            changes[name] = _enum(value, _ENUM_TERMS[name]) if name in _ENUM_TERMS else value
    return changes


def campaign_to_domain(c: CampaignCreateInput) -> CampaignInput:
    return CampaignInput(
        name=c.name, channel=vocab.CampaignChannel(c.channel.value), objective=vocab.CampaignObjective(c.objective.value),
        starts_at=c.starts_at, ends_at=c.ends_at, time_zone=c.time_zone,
        include_segment_ids=_segment_pks(c.include_segment_ids, "includeSegmentIds"),
        exclude_segment_ids=_segment_pks(c.exclude_segment_ids, "excludeSegmentIds"),
        holdout_bp=c.holdout_basis_points, attribution_days=c.attribution_days, goal_categories=c.goal_categories,
        **_budget(c.budget), **_cap(c.frequency_cap),
        policies=None if c.policies is None else [policy_to_domain(p) for p in c.policies])


def _budget(b: BudgetInput | None) -> dict:
    return {"budget_kind": _enum(b.kind, vocab.BudgetKind) if b else None, "budget_limit": b.limit if b else None}


def _cap(f: FrequencyCapInput | None) -> dict:
    return {"frequency_cap": f.contacts if f else None, "frequency_cap_days": f.days if f else None}



_RENAMED = {"holdout_basis_points": "holdout_bp"}
_ENUM_FIELDS = {"channel": vocab.CampaignChannel, "objective": vocab.CampaignObjective}
_REQUIRED = {"name", "channel", "objective", "holdout_basis_points", "attribution_days"}


def campaign_changes(c: CampaignUpdateInput, budget_kind: str | None) -> dict:
    """CampaignInput field -> new value, for the fields given. A budget whose
    kind stays as it is changes only its limit (which a running campaign may)."""
    changes: dict = {}
    for name in CampaignUpdateInput.__annotations__:
        value = getattr(c, name)
        if name == "id" or value is strawberry.UNSET:
            continue
        if value is None and name in _REQUIRED:
            raise DomainError(ErrorCode.REQUIRED, camel(name), "cannot be null: leave it out to keep it")
        if name in _ENUM_FIELDS:
            changes[name] = _enum(value, _ENUM_FIELDS[name])
        elif name in ("include_segment_ids", "exclude_segment_ids"):
            changes[name] = _segment_pks(value or [], name.replace("_segment_ids", "SegmentIds"))
        elif name == "budget":
            new = _budget(value)
            if budget_kind is None or new["budget_kind"] is None or new["budget_kind"].value != budget_kind:
                changes["budget_kind"] = new["budget_kind"]
            changes["budget_limit"] = new["budget_limit"]
        elif name == "frequency_cap":
            changes.update(_cap(value))
        elif name == "policies":
            changes[name] = None if value is None else [policy_to_domain(p) for p in value]
        else:
            changes[_RENAMED.get(name, name)] = value
    return changes


def cart_to_domain(cart: CartInput) -> Cart:
    return Cart(total=cart.total, currency=cart.currency, shipping=cart.shipping,
                items=[CartItem(amount=i.amount, category=i.category, product=i.product, quantity=i.quantity)
                       for i in cart.items])
