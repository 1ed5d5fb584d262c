"""Segment queries: the list, one segment, previews, the rule catalogue and analytics."""

from __future__ import annotations

import datetime
from decimal import Decimal

import strawberry
from strawberry.types import Info

from domain import segment_rules, segments
from domain.customers import customers_by_id
from domain.errors import DomainError, camel
from gql_api.customers.types import Customer
from gql_api.errors import bad_input
from gql_api.customers.contacts import hidden_rule_fields, require_readable_rule
from gql_api.ids import MalformedId, from_global_id
from gql_api.permissions import READERS
from gql_api.segments.rules import SegmentRuleInput, rule_to_domain
from gql_api.segments.types import (RuleFieldType, Segment, SegmentKind, SegmentMigrationCell, SegmentOverlap,
                                    SegmentRuleField, SegmentSizePoint, SegmentValue)

MAX_HISTORY_DAYS = 366


@strawberry.type(description="What a rule would select, computed now and not saved.")
class SegmentPreview:
    size: int
    workspace_size: int
    total_clv: Decimal
    total_spend: Decimal
    average_clv: Decimal | None
    sample: list[Customer] = strawberry.field(description="The first matching customers, by id.")

    @strawberry.field(description="Size over the workspace's live customers, 0-1.")
    def share(self) -> float:
        return self.size / self.workspace_size if self.workspace_size else 0.0


def segment_pk(value: str, argument: str = "id") -> int:
    try:
        return from_global_id(value, "Segment")
    except MalformedId as exc:
        raise bad_input(f"{argument}: {exc}") from None


async def _segments(info: Info, pks: list[int]) -> dict[int, Segment]:
    async with info.context.transaction() as conn:
        rows = await segments.segments_by_id(conn, info.context.api_key.workspace_id, pks)
    return {pk: Segment.from_row(row) for pk, row in rows.items()}


@strawberry.type
class SegmentQueries:
    @strawberry.field(permission_classes=READERS, description="The workspace's segments, oldest first.")
    async def segments(self, info: Info, kinds: list[SegmentKind] | None = None) -> list[Segment]:
        async with info.context.transaction() as conn:
            rows = await segments.list_segments(conn, info.context.api_key.workspace_id,
                                                [k.value for k in kinds] if kinds else None)
        return [Segment.from_row(r) for r in rows]

    @strawberry.field(permission_classes=READERS, description="A segment by global id, or null.")
    async def segment(self, info: Info, id: strawberry.ID) -> Segment | None:
        return (await _segments(info, [segment_pk(id)])).get(segment_pk(id))

    @strawberry.field(permission_classes=READERS, description="Fields a rule can test and their operators.")
    def segment_rule_fields(self, info: Info) -> list[SegmentRuleField]:
        hidden = hidden_rule_fields(info.context.api_key)
        return [SegmentRuleField(name=camel(f.name), type=RuleFieldType(f.type.value), description=f.description,
                                 operators=[op.upper() for op in segment_rules.OPERATORS[f.type]],
                                 choices=list(f.choices) or None)
                for f in segment_rules.FIELDS.values() if f.name not in hidden]

    @strawberry.field(permission_classes=READERS, description="Size, share, value and a sample of what a rule "
                                                              "would select, without saving it.")
    async def preview_segment(self, info: Info, rule: SegmentRuleInput, sample: int = 10) -> SegmentPreview:
        if not 0 <= sample <= segments.MAX_SAMPLE:
            raise bad_input(f"sample must be between 0 and {segments.MAX_SAMPLE}")
        workspace_id = info.context.api_key.workspace_id
        try:
            domain_rule = rule_to_domain(rule)
            require_readable_rule(info.context.api_key, domain_rule)
            async with info.context.transaction() as conn:
                found = await segments.preview(conn, workspace_id, domain_rule, sample)
                rows = await customers_by_id(conn, workspace_id, found.sample_ids)
        except DomainError as exc:
            raise bad_input(f"{exc.field}: {exc.message}" if exc.field else exc.message) from None
        return SegmentPreview(size=found.size, workspace_size=found.workspace_size, total_clv=found.total_clv,
                              total_spend=found.total_spend, average_clv=found.average_clv,
                              sample=[Customer.from_row(rows[pk]) for pk in found.sample_ids if pk in rows])

    @strawberry.field(permission_classes=READERS, description="Members' value totals now.")
    async def segment_value(self, info: Info, id: strawberry.ID) -> SegmentValue:
        async with info.context.transaction() as conn:
            value = await segments.segment_value(conn, info.context.api_key.workspace_id, segment_pk(id))
        return SegmentValue(size=value.size, total_clv=value.total_clv, total_spend=value.total_spend,
                            average_clv=value.average_clv)

    @strawberry.field(permission_classes=READERS, description="Members at the end of each of the last `days` days "
                                                              "(from membership history), oldest first.")
    async def segment_size_history(self, info: Info, id: strawberry.ID, days: int = 30) -> list[SegmentSizePoint]:
        if not 1 <= days <= MAX_HISTORY_DAYS:
            raise bad_input(f"days must be between 1 and {MAX_HISTORY_DAYS}")
        now = datetime.datetime.now(datetime.UTC)
        moments = [now - datetime.timedelta(days=d) for d in range(days - 1, -1, -1)]
        async with info.context.transaction() as conn:
            sizes = await segments.size_history(conn, info.context.api_key.workspace_id, segment_pk(id), moments)
        return [SegmentSizePoint(at=at, size=size) for at, size in zip(moments, sizes, strict=True)]

    @strawberry.field(permission_classes=READERS, description="How two segments overlap now.")
    async def segment_overlap(self, info: Info, first: strawberry.ID, second: strawberry.ID) -> SegmentOverlap:
        async with info.context.transaction() as conn:
            a, b, both = await segments.overlap(conn, info.context.api_key.workspace_id, segment_pk(first, "first"),
                                                segment_pk(second, "second"))
        return SegmentOverlap(first_size=a, second_size=b, both=both)

    @strawberry.field(permission_classes=READERS,
                      description="Where the members of these segments at `start` were at `end` (e.g. where did "
                                  "last month's champions go?). A customer in several counts in the oldest.")
    async def segment_migration(self, info: Info, segment_ids: list[strawberry.ID], start: datetime.datetime,
                                end: datetime.datetime) -> list[SegmentMigrationCell]:
        if not 0 < len(segment_ids) <= 50:
            raise bad_input("1 to 50 segments")
        if start > end:
            raise bad_input("start is after end")
        pks = [segment_pk(i, "segmentIds") for i in segment_ids]
        async with info.context.transaction() as conn:
            cells = await segments.migration(conn, info.context.api_key.workspace_id, pks, start, end)
        found = await _segments(info, pks)
        return [SegmentMigrationCell(from_segment=found.get(a), to_segment=found.get(b), customers=n)
                for a, b, n in cells]
