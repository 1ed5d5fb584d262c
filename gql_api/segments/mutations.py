"""segmentCreate, segmentUpdate, segmentDelete, segmentMembersAdd, segmentMembersRemove:
ADMIN and ANALYST keys; typed userErrors (rule errors name the path in the rule)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import Enum

import strawberry
from strawberry.types import Info

from domain import segments
from domain.vocab import Role, SegmentKind
from gql_api.customers.contacts import require_readable_rule
from gql_api.errors import UserError, attempt, input_pk
from gql_api.permissions import role_in
from gql_api.segments.rules import SegmentRuleInput, rule_to_domain
from gql_api.segments.types import Segment

EditableKind = strawberry.enum(Enum("EditableSegmentKind", {"RULE": "rule", "MANUAL": "manual"}),
                               description="The kinds of segment users make.")


@strawberry.input
class SegmentCreateInput:
    name: str
    kind: EditableKind = EditableKind.RULE
    rule: SegmentRuleInput | None = strawberry.field(default=None, description="Required for RULE.")
    description: str | None = None
    key: str | None = strawberry.field(default=None, description="Stable handle; made from the name if left out.")


@strawberry.input(description="Only the fields given change. A new rule recomputes the members now, and those of "
                              "every segment built on this one.")
class SegmentUpdateInput:
    id: strawberry.ID
    name: str | None = None
    description: str | None = None
    rule: SegmentRuleInput | None = None


@strawberry.input
class SegmentDeleteInput:
    id: strawberry.ID


@strawberry.input(description="Customers to add to or remove from a MANUAL segment (1 to 1000).")
class SegmentMembersInput:
    segment_id: strawberry.ID
    customer_ids: list[strawberry.ID]


@strawberry.type
class SegmentPayload:
    segment: Segment | None
    user_errors: list[UserError]


async def _run(info: Info, change: Callable[..., Awaitable]) -> SegmentPayload:
    row, errors = await attempt(info, change)
    return SegmentPayload(segment=None if errors else Segment.from_row(row), user_errors=errors)


def _members(input: SegmentMembersInput) -> tuple[int, list[int]]:
    return (input_pk(input.segment_id, "Segment", "segmentId"),
            [input_pk(c, "Customer", f"customerIds.{i}") for i, c in enumerate(input.customer_ids)])


WRITERS = role_in(Role.ADMIN, Role.ANALYST)


def _readable(info: Info, rule: dict) -> dict:
    require_readable_rule(info.context.api_key, rule)
    return rule


@strawberry.type
class SegmentMutations:
    @strawberry.mutation(permission_classes=WRITERS, description="Make a RULE segment (members computed at once) "
                                                                 "or an empty MANUAL one.")
    async def segment_create(self, info: Info, input: SegmentCreateInput) -> SegmentPayload:
        async def change(conn, workspace_id):
            rule = _readable(info, rule_to_domain(input.rule)) if input.rule else None
            return await segments.create_segment(conn, workspace_id, input.name, SegmentKind(input.kind.value), rule,
                                                 input.description, input.key)
        return await _run(info, change)

    @strawberry.mutation(permission_classes=WRITERS, description="Rename, describe or change the rule.")
    async def segment_update(self, info: Info, input: SegmentUpdateInput) -> SegmentPayload:
        async def change(conn, workspace_id):
            rule = _readable(info, rule_to_domain(input.rule)) if input.rule else None
            return await segments.update_segment(conn, workspace_id, input_pk(input.id, "Segment", "id"), input.name,
                                                 input.description, rule)
        return await _run(info, change)

    @strawberry.mutation(permission_classes=WRITERS, description="Delete a RULE or MANUAL segment: its members "
                                                                 "leave (with events); history is kept.")
    async def segment_delete(self, info: Info, input: SegmentDeleteInput) -> SegmentPayload:
        async def change(conn, workspace_id):
            return await segments.delete_segment(conn, workspace_id, input_pk(input.id, "Segment", "id"))
        return await _run(info, change)

    @strawberry.mutation(permission_classes=WRITERS, description="Add customers to a MANUAL segment.")
    async def segment_members_add(self, info: Info, input: SegmentMembersInput) -> SegmentPayload:
        async def change(conn, workspace_id):
            return await segments.change_manual_members(conn, workspace_id, *_members(input), member=True)
        return await _run(info, change)

    @strawberry.mutation(permission_classes=WRITERS, description="Remove customers from a MANUAL segment.")
    async def segment_members_remove(self, info: Info, input: SegmentMembersInput) -> SegmentPayload:
        async def change(conn, workspace_id):
            return await segments.change_manual_members(conn, workspace_id, *_members(input), member=False)
        return await _run(info, change)
