"""The Segment type and what queries about segments return."""

from __future__ import annotations

import datetime
from decimal import Decimal
from enum import Enum

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from domain import vocab
from domain.loyalty_kpis import MAX_CATEGORIES, MAX_DAYS, category_affinity
from gql_api.errors import bad_input
from gql_api.enums import _mirror
from gql_api.node import Node
from gql_api.segments.rules import rule_to_api

SegmentKind = _mirror(vocab.SegmentKind, "RULE (a rule you edit), MANUAL (members set by hand), BUILTIN (one per "
                                         "RFM segment, customer type and lifecycle stage) or CLUSTER (k-means).")
RuleFieldType = strawberry.enum(Enum("RuleFieldType", {t.upper(): t for t in (
    "number", "text", "choice", "list", "boolean", "time", "attribute")}), description="What a rule field holds.")


@strawberry.type(description="Members' totals from their latest scores.")
class SegmentValue:
    size: int
    total_clv: Decimal
    total_spend: Decimal
    average_clv: Decimal | None


@strawberry.type(description="How much of a segment's basket one category is, against the workspace's.")
class CategoryAffinity:
    category: str
    spend: Decimal = strawberry.field(description="The members' spend on it in the period.")
    buyers: int = strawberry.field(description="Members who bought it in the period.")
    share: float = strawberry.field(description="Its share of the members' item spend (0-1).")
    workspace_share: float = strawberry.field(description="Its share of every customer's item spend (0-1).")
    index: float | None = strawberry.field(description="share / workspaceShare: above 1, the segment buys more of "
                                                       "it than customers at large.")


@strawberry.type(description="A group of customers: by rule, by hand, built in or by clustering. Membership is "
                             "kept with its history and every change is an event (segmentMembershipChanged).")
class Segment(Node):
    key: str = strawberry.field(description="Stable handle, e.g. `rfm:champions`, `type:tribe`, `stage:at_risk`.")
    name: str
    description: str | None
    kind: SegmentKind
    rule: JSON | None = strawberry.field(description="The rule, in the shape SegmentRuleInput takes.")
    profile: JSON | None = strawberry.field(description="For a cluster: its persona (centre in original units, size, "
                                                        "share, most distinguishing features).")
    created_at: datetime.datetime
    updated_at: datetime.datetime

    @strawberry.field(description="Customers in it now.")
    async def size(self, info: Info) -> int:
        return await info.context.loaders.segment_size.load(self.pk)

    @strawberry.field(description="What its members buy: the categories they spent most on in the last `days` "
                                  "days, each against the workspace's share (for product development).")
    async def category_affinity(self, info: Info, days: int = 365, first: int = 10) -> list[CategoryAffinity]:
        if not 1 <= days <= MAX_DAYS or not 1 <= first <= MAX_CATEGORIES:
            raise bad_input(f"days must be 1 to {MAX_DAYS} and first 1 to {MAX_CATEGORIES}")
        async with info.context.transaction() as conn:
            found = await category_affinity(conn, info.context.api_key.workspace_id, self.pk, days, first)
        return [CategoryAffinity(**vars(a)) for a in found]

    @classmethod
    def from_row(cls, row) -> Segment:
        return cls(pk=row.id, key=row.key, name=row.name, description=row.description,
                   kind=SegmentKind(row.kind), rule=rule_to_api(row.rule) if row.rule else None, profile=row.profile,
                   created_at=row.created_at, updated_at=row.updated_at)


@strawberry.type(description="A field rules can test, with the operators that apply to it.")
class SegmentRuleField:
    name: str
    type: RuleFieldType
    description: str
    operators: list[str]
    choices: list[str] | None = strawberry.field(description="The allowed values, for closed vocabularies.")


@strawberry.type(description="Members at one moment.")
class SegmentSizePoint:
    at: datetime.datetime
    size: int


@strawberry.type(description="Members of each of two segments and of both.")
class SegmentOverlap:
    first_size: int
    second_size: int
    both: int

    @strawberry.field(description="Both over either (0 when both are empty).")
    def jaccard(self) -> float:
        either = self.first_size + self.second_size - self.both
        return self.both / either if either else 0.0


@strawberry.type(description="Customers who were in `fromSegment` at the start and in `toSegment` at the end "
                             "(null: in none of the segments asked about).")
class SegmentMigrationCell:
    from_segment: Segment | None
    to_segment: Segment | None
    customers: int
