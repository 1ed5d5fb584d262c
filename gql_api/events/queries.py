"""segmentChanges and customerChanges: the outbox, paged, for integrators that poll."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from domain.events import CUSTOMER_KINDS, SEGMENT_KINDS, events_after
from domain.vocab import Role
from gql_api.errors import bad_input
from gql_api.events.types import (CustomerEvent, CustomerEventConnection, CustomerEventEdge, SegmentMembershipEvent,
                                  SegmentMembershipEventConnection, SegmentMembershipEventEdge, event_position)
from gql_api.ids import MalformedId
from gql_api.pagination import PageInfo
from gql_api.permissions import role_in
from gql_api.segments.queries import segment_pk

LISTENERS = role_in(Role.ADMIN, Role.ANALYST, Role.INTEGRATOR)
MAX_PAGE = 1000


def after_seq(after: str | None) -> int | None:
    if after is None:
        return None
    try:
        return event_position(after)
    except (MalformedId, ValueError):
        raise bad_input(f"{after!r} is not an event cursor") from None


async def _page(info: Info, kinds, after: str | None, first: int, segment_ids=None):
    if not 0 < first <= MAX_PAGE:
        raise bad_input(f"first must be between 1 and {MAX_PAGE}")
    async with info.context.transaction() as conn:
        found = await events_after(conn, info.context.api_key.workspace_id, after_seq(after) or 0, first + 1,
                                   kinds, segment_ids)
    return found[:first], len(found) > first


@strawberry.type
class EventQueries:
    @strawberry.field(permission_classes=LISTENERS,
                      description="Segment entries and exits after the cursor `after` (from the beginning without "
                                  "it), oldest first. Keep the last cursor and ask again to poll.")
    async def segment_changes(self, info: Info, after: str | None = None, first: int = 100,
                              segment_ids: list[strawberry.ID] | None = None) -> SegmentMembershipEventConnection:
        pks = [segment_pk(i, "segmentIds") for i in segment_ids] if segment_ids is not None else None
        page, more = await _page(info, SEGMENT_KINDS, after, first, pks)
        edges = [SegmentMembershipEventEdge(cursor=e.cursor, node=e)
                 for e in map(SegmentMembershipEvent.from_event, page)]
        return SegmentMembershipEventConnection(edges=edges, page_info=PageInfo(
            has_next_page=more, end_cursor=edges[-1].cursor if edges else after))

    @strawberry.field(permission_classes=LISTENERS, description="Customer changes after the cursor `after`, oldest "
                                                                "first.")
    async def customer_changes(self, info: Info, after: str | None = None, first: int = 100
                               ) -> CustomerEventConnection:
        page, more = await _page(info, CUSTOMER_KINDS, after, first)
        edges = [CustomerEventEdge(cursor=e.cursor, node=e) for e in map(CustomerEvent.from_event, page)]
        return CustomerEventConnection(edges=edges, page_info=PageInfo(
            has_next_page=more, end_cursor=edges[-1].cursor if edges else after))
