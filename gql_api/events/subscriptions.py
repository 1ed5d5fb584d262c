"""Subscriptions over graphql-transport-ws: segment membership changes,
customer changes and campaign targeting, resumable from a cursor (see
gql_api/hub.py)."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from domain.events import CAMPAIGN_KINDS, CUSTOMER_KINDS, SEGMENT_KINDS
from gql_api.events.queries import LISTENERS, after_seq
from gql_api.errors import bad_input
from gql_api.events.types import CampaignTargetedEvent, CustomerEvent, SegmentMembershipEvent
from gql_api.hub import SubscriberTooSlow
from gql_api.ids import MalformedId, from_global_id, to_global_id
from gql_api.recent import Recent
from gql_api.segments.queries import segment_pk

# Close code for a subscriber whose buffer overflowed (4000-4999 are the application's).
TOO_SLOW = 4008


# Subscribers woken by the same event get the same GraphQL object for it, which
# is what lets its execution be shared (gql_api/shared_execution.py).
_converted = Recent()


async def _events(info: Info, kinds, segment_ids, after: str | None, graphql_type):
    position = after_seq(after)
    try:
        async for event in info.context.hub.stream(info.context.api_key.workspace_id, kinds, segment_ids, position):
            key = (graphql_type, event.workspace_id, event.seq)
            yield _converted.get(key) or _converted.remember(key, graphql_type.from_event(event))
    except SubscriberTooSlow as exc:
        await info.context.request.close(code=TOO_SLOW, reason=str(exc)[:120])


@strawberry.type
class Subscription:
    @strawberry.subscription(permission_classes=LISTENERS,
                             description="Customers entering and leaving segments (all, or `segmentIds`). With "
                                         "`after` (a cursor you saw), every event since then comes first, in "
                                         "order, then live ones: no gaps, no duplicates.")
    async def segment_membership_changed(self, info: Info, segment_ids: list[strawberry.ID] | None = None,
                                         after: str | None = None) -> AsyncGenerator[SegmentMembershipEvent, None]:
        pks = frozenset(segment_pk(i, "segmentIds") for i in segment_ids) if segment_ids is not None else None
        async for event in _events(info, SEGMENT_KINDS, pks, after, SegmentMembershipEvent):
            yield event

    @strawberry.subscription(permission_classes=LISTENERS,
                             description="Customers created, updated, deleted, erased, buying or being served; "
                                         "resumable with `after` like segmentMembershipChanged.")
    async def customer_changed(self, info: Info, after: str | None = None) -> AsyncGenerator[CustomerEvent, None]:
        async for event in _events(info, CUSTOMER_KINDS, None, after, CustomerEvent):
            yield event

    @strawberry.subscription(permission_classes=LISTENERS,
                             description="Customers a campaign targeted (all campaigns, or `campaignIds`), at launch "
                                         "and as they join; resumable with `after` like segmentMembershipChanged.")
    async def campaign_targeted(self, info: Info, campaign_ids: list[strawberry.ID] | None = None,
                                after: str | None = None) -> AsyncGenerator[CampaignTargetedEvent, None]:
        wanted = None if campaign_ids is None else frozenset(_campaign_gid(i) for i in campaign_ids)
        async for event in _events(info, CAMPAIGN_KINDS, None, after, CampaignTargetedEvent):
            if wanted is None or event.campaign_id in wanted:
                yield event


def _campaign_gid(value: str) -> str:
    """The id as events carry it (canonical), or BAD_USER_INPUT."""
    try:
        return to_global_id("Campaign", from_global_id(value, "Campaign"))
    except MalformedId as exc:
        raise bad_input(f"campaignIds: {exc}") from None
