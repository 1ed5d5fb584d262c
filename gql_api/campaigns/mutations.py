"""Campaign writes, ADMIN and ANALYST keys: campaignCreate, campaignUpdate, the
moves (campaignSchedule, campaignLaunch, campaignPause, campaignResume,
campaignEnd, campaignArchive), offerCreate, offerUpdate, offerDelete,
customerTypePolicySet and campaignSettingsUpdate. Each is one transaction;
a refusal is a typed userError and changes nothing."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from domain.campaigns import campaigns as domain_campaigns, lifecycle
from domain.campaigns.policies import set_workspace_policies
from domain.campaigns.settings import set_global_control_group, set_workspace_time_zone
from domain.vocab import Role
from gql_api.campaigns.inputs import (CampaignCreateInput, CampaignUpdateInput, CustomerTypePolicyInput, OfferInput,
                                      OfferUpdateInput, campaign_changes, campaign_to_domain, offer_changes,
                                      offer_to_domain, policy_to_domain)
from gql_api.campaigns.queries import CampaignSettings, settings_of
from gql_api.campaigns.types import Campaign, CustomerTypePolicy, Offer
from gql_api.errors import UserError, attempt, input_pk
from gql_api.ids import to_global_id
from gql_api.permissions import role_in

WRITERS = role_in(Role.ADMIN, Role.ANALYST)


@strawberry.input
class CampaignIdInput:
    id: strawberry.ID


@strawberry.input
class OfferCreateInput:
    campaign_id: strawberry.ID
    offer: OfferInput


@strawberry.input
class OfferDeleteInput:
    id: strawberry.ID


@strawberry.input(description="The workspace's policy set, replacing the one before (an empty list: no policies).")
class CustomerTypePolicySetInput:
    policies: list[CustomerTypePolicyInput]


@strawberry.input(description="Only the settings given change.")
class CampaignSettingsInput:
    time_zone: str | None = None
    global_control_group: bool | None = None


@strawberry.type
class CampaignPayload:
    campaign: Campaign | None
    user_errors: list[UserError]


@strawberry.type
class OfferPayload:
    offer: Offer | None
    user_errors: list[UserError]


@strawberry.type
class CustomerTypePoliciesPayload:
    policies: list[CustomerTypePolicy] | None
    user_errors: list[UserError]


@strawberry.type
class CampaignSettingsPayload:
    settings: CampaignSettings | None
    user_errors: list[UserError]


async def _campaign(info: Info, change) -> CampaignPayload:
    row, errors = await attempt(info, change)
    return CampaignPayload(campaign=None if errors else Campaign.from_row(row), user_errors=errors)


async def _offer(info: Info, change) -> OfferPayload:
    row, errors = await attempt(info, change)
    return OfferPayload(offer=None if errors else Offer.from_row(row), user_errors=errors)


async def _move(info: Info, input: CampaignIdInput, name: str) -> CampaignPayload:
    async def change(conn, workspace_id):
        pk = input_pk(input.id, "Campaign", "id")
        if name == "schedule":
            return await lifecycle.schedule(conn, workspace_id, pk, to_global_id)
        if name == "launch":
            return await lifecycle.launch(conn, workspace_id, pk, to_global_id)
        return await lifecycle.move(conn, workspace_id, pk, name)
    return await _campaign(info, change)


@strawberry.type
class CampaignMutations:
    @strawberry.mutation(permission_classes=WRITERS, description="A DRAFT campaign, with its offers.")
    async def campaign_create(self, info: Info, input: CampaignCreateInput) -> CampaignPayload:
        async def change(conn, workspace_id):
            return await domain_campaigns.create_campaign(conn, workspace_id, campaign_to_domain(input),
                                                          [offer_to_domain(o) for o in input.offers])
        return await _campaign(info, change)

    @strawberry.mutation(permission_classes=WRITERS,
                         description="Change the fields given. The audience, holdout, attribution window, goal and "
                                     "kind of budget change only in DRAFT; name, objective, end and budget limit "
                                     "until the campaign ends.")
    async def campaign_update(self, info: Info, input: CampaignUpdateInput) -> CampaignPayload:
        async def change(conn, workspace_id):
            pk = input_pk(input.id, "Campaign", "id")
            current = (await domain_campaigns.campaigns_by_id(conn, workspace_id, [pk])).get(pk)
            changes = campaign_changes(input, current.budget_kind if current else None)
            return await domain_campaigns.update_campaign(conn, workspace_id, pk, changes)
        return await _campaign(info, change)

    @strawberry.mutation(permission_classes=WRITERS, description="DRAFT -> SCHEDULED: it launches at startsAt "
                                                                 "(which must be in the future).")
    async def campaign_schedule(self, info: Info, input: CampaignIdInput) -> CampaignPayload:
        return await _move(info, input, "schedule")

    @strawberry.mutation(permission_classes=WRITERS,
                         description="DRAFT or SCHEDULED -> RUNNING now: the audience is found, split into "
                                     "treatment and holdout and frozen; treated customers get a campaign.targeted "
                                     "event.")
    async def campaign_launch(self, info: Info, input: CampaignIdInput) -> CampaignPayload:
        return await _move(info, input, "launch")

    @strawberry.mutation(permission_classes=WRITERS, description="RUNNING -> PAUSED: offers stop being shown and "
                                                                 "redeemed; nobody joins.")
    async def campaign_pause(self, info: Info, input: CampaignIdInput) -> CampaignPayload:
        return await _move(info, input, "pause")

    @strawberry.mutation(permission_classes=WRITERS, description="PAUSED -> RUNNING.")
    async def campaign_resume(self, info: Info, input: CampaignIdInput) -> CampaignPayload:
        return await _move(info, input, "resume")

    @strawberry.mutation(permission_classes=WRITERS, description="RUNNING or PAUSED -> ENDED now (the results go on "
                                                                 "counting until the attribution windows close).")
    async def campaign_end(self, info: Info, input: CampaignIdInput) -> CampaignPayload:
        return await _move(info, input, "end")

    @strawberry.mutation(permission_classes=WRITERS, description="DRAFT or ENDED -> ARCHIVED: out of the default "
                                                                 "list, kept with its results.")
    async def campaign_archive(self, info: Info, input: CampaignIdInput) -> CampaignPayload:
        return await _move(info, input, "archive")

    @strawberry.mutation(permission_classes=WRITERS, description="Add an offer to a DRAFT or SCHEDULED campaign.")
    async def offer_create(self, info: Info, input: OfferCreateInput) -> OfferPayload:
        async def change(conn, workspace_id):
            return await domain_campaigns.create_offer(conn, workspace_id,
                                                       input_pk(input.campaign_id, "Campaign", "campaignId"),
                                                       offer_to_domain(input.offer))
        return await _offer(info, change)

    @strawberry.mutation(permission_classes=WRITERS, description="Change an offer's terms (see OfferUpdateInput).")
    async def offer_update(self, info: Info, input: OfferUpdateInput) -> OfferPayload:
        async def change(conn, workspace_id):
            return await domain_campaigns.update_offer(conn, workspace_id, input_pk(input.id, "Offer", "id"),
                                                       offer_changes(input))
        return await _offer(info, change)

    @strawberry.mutation(permission_classes=WRITERS, description="Remove an offer from a DRAFT or SCHEDULED campaign.")
    async def offer_delete(self, info: Info, input: OfferDeleteInput) -> OfferPayload:
        async def change(conn, workspace_id):
            return await domain_campaigns.delete_offer(conn, workspace_id, input_pk(input.id, "Offer", "id"))
        return await _offer(info, change)

    @strawberry.mutation(permission_classes=role_in(Role.ADMIN),
                         description="Replace the workspace's customer-type policies (campaigns launched from now "
                                     "on apply them, unless they have their own).")
    async def customer_type_policy_set(self, info: Info, input: CustomerTypePolicySetInput
                                       ) -> CustomerTypePoliciesPayload:
        async def change(conn, workspace_id):
            return await set_workspace_policies(conn, workspace_id, [policy_to_domain(p) for p in input.policies])
        found, errors = await attempt(info, change)
        return CustomerTypePoliciesPayload(
            policies=None if errors else [CustomerTypePolicy.from_domain(p) for p in found], user_errors=errors)

    @strawberry.mutation(permission_classes=role_in(Role.ADMIN), description="Change the campaign settings given.")
    async def campaign_settings_update(self, info: Info, input: CampaignSettingsInput) -> CampaignSettingsPayload:
        async def change(conn, workspace_id):
            if input.time_zone is not None:
                await set_workspace_time_zone(conn, workspace_id, input.time_zone)
            if input.global_control_group is not None:
                await set_global_control_group(conn, workspace_id, input.global_control_group)
            return await settings_of(conn, workspace_id)
        found, errors = await attempt(info, change)
        return CampaignSettingsPayload(settings=found, user_errors=errors)
