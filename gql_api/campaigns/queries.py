"""Campaign queries: one campaign, the list, the workspace's policies and settings."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from domain import vocab
from domain.campaigns import campaigns as domain_campaigns
from domain.campaigns.policies import workspace_policies
from domain.campaigns.settings import control_group_salt, workspace_time_zone
from gql_api.campaigns.enums import CampaignChannel, CampaignObjective, CampaignStatus
from gql_api.campaigns.types import (Campaign, CampaignConnection, CampaignEdge, CustomerTypePolicy, before_id,
                                     page_size)
from gql_api.errors import bad_input
from gql_api.ids import MalformedId, from_global_id, to_cursor
from gql_api.pagination import PageInfo
from gql_api.permissions import READERS


@strawberry.type(description="The workspace's campaign settings.")
class CampaignSettings:
    time_zone: str = strawberry.field(description="Campaigns' default time zone; where an offer's day begins.")
    global_control_group: bool = strawberry.field(
        description="Every campaign launched from now on holds out the same customers (one salt for all), so a "
                    "share of the customer base hears from no campaign at all.")


@strawberry.input(description="Campaigns matching all of the given conditions. ARCHIVED ones only when asked for "
                              "by status.")
class CampaignFilter:
    statuses: list[CampaignStatus] | None = None
    channels: list[CampaignChannel] | None = None
    objectives: list[CampaignObjective] | None = None
    segment_id: strawberry.ID | None = strawberry.field(default=None, description="Aimed at this segment.")
    name: str | None = strawberry.field(default=None, description="Name contains, ignoring case.")


def _pk(value: str, type_name: str, argument: str) -> int:
    try:
        return from_global_id(value, type_name)
    except MalformedId as exc:
        raise bad_input(f"{argument}: {exc}") from None


def _domain_filter(f: CampaignFilter | None) -> domain_campaigns.CampaignFilter:
    if f is None:
        return domain_campaigns.CampaignFilter()
    return domain_campaigns.CampaignFilter(
        statuses=[vocab.CampaignStatus(s.value) for s in f.statuses or []] or None,
        channels=[vocab.CampaignChannel(c.value) for c in f.channels or []] or None,
        objectives=[vocab.CampaignObjective(o.value) for o in f.objectives or []] or None,
        segment_id=_pk(f.segment_id, "Segment", "filter.segmentId") if f.segment_id else None, name=f.name)


async def settings_of(conn, workspace_id: int) -> CampaignSettings:
    return CampaignSettings(time_zone=await workspace_time_zone(conn, workspace_id),
                            global_control_group=await control_group_salt(conn, workspace_id) is not None)


@strawberry.type
class CampaignQueries:
    @strawberry.field(permission_classes=READERS, description="A campaign by global id, or null.")
    async def campaign(self, info: Info, id: strawberry.ID) -> Campaign | None:
        pk = _pk(id, "Campaign", "id")
        async with info.context.transaction() as conn:
            found = await domain_campaigns.campaigns_by_id(conn, info.context.api_key.workspace_id, [pk])
        return Campaign.from_row(found[pk]) if pk in found else None

    @strawberry.field(permission_classes=READERS, description="The workspace's campaigns, newest first.")
    async def campaigns(self, info: Info, filter: CampaignFilter | None = None, first: int = 20,
                        after: str | None = None) -> CampaignConnection:
        size, below = page_size(first), before_id(after)
        async with info.context.transaction() as conn:
            rows, more, total = await domain_campaigns.list_campaigns(
                conn, info.context.api_key.workspace_id, _domain_filter(filter), size, below)
        edges = [CampaignEdge(node=Campaign.from_row(r), cursor=to_cursor(r.id)) for r in rows]
        return CampaignConnection(edges=edges, total_count=total, page_info=PageInfo(
            has_next_page=more, end_cursor=edges[-1].cursor if edges else None))

    @strawberry.field(permission_classes=READERS,
                      description="How campaigns treat each customer type and trait, unless a campaign has its own.")
    async def customer_type_policies(self, info: Info) -> list[CustomerTypePolicy]:
        async with info.context.transaction() as conn:
            found = await workspace_policies(conn, info.context.api_key.workspace_id)
        return [CustomerTypePolicy.from_domain(p) for p in found]

    @strawberry.field(permission_classes=READERS, description="The workspace's campaign settings.")
    async def campaign_settings(self, info: Info) -> CampaignSettings:
        async with info.context.transaction() as conn:
            return await settings_of(conn, info.context.api_key.workspace_id)
