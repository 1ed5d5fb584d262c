"""A campaign's audience on a real PostgreSQL, checked against a plain Python
reading of the same rows: segments in and out, consent, reachability, the
frequency cap, each customer-type policy, joiners, and the holdout split."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select, update

from domain.campaigns import lifecycle
from domain.campaigns.audience import bucket, campaign_salt
from domain.campaigns.campaigns import CampaignInput, campaigns_by_id, create_campaign
from domain.campaigns.offers import OfferTerms
from domain.campaigns.policies import DEFAULT_POLICIES, Policy
from domain.campaigns.settings import set_global_control_group
from domain.db import unit_of_work
from domain.demo import build_demo
from domain.scoring_pipeline import rescore_workspace
from domain.segments import change_manual_members, create_segment
from domain.tables import (campaign_assignments, customer_scores, customers, events, offer_codes,
                           segment_memberships, segments)
from domain.vocab import CampaignChannel, CodeMode, CustomerType, OfferKind, SegmentKind, Trait
from gql_api.ids import to_global_id
from tests.helpers import new_workspace

PERCENT = OfferTerms(kind=OfferKind.PERCENT_OFF, value=10, code_mode=CodeMode.UNIQUE, title_en="10% off")


@pytest.fixture(scope="module")
async def world(engine):
    workspace = await new_workspace(engine, "aud")
    async with unit_of_work(engine) as conn:
        await build_demo(conn, workspace.id, 600, seed=11)
    await rescore_workspace(engine, workspace.id)
    async with unit_of_work(engine) as conn:
        # Some bargainers set by staff, so the BARGAINER policy has someone to bring in.
        ids = list(await conn.scalars(select(customers.c.id).where(customers.c.workspace_id == workspace.id)
                                      .order_by(customers.c.id)))
        await conn.execute(update(customers).where(customers.c.id.in_(random.Random(5).sample(ids, 40)))
                           .values(staff_traits=[Trait.BARGAINER.value]))
        sizes = dict(list(await conn.execute(
            select(segments.c.key, segments.c.id).where(segments.c.workspace_id == workspace.id))))
    return workspace.id, sizes


async def _members(conn, workspace_id: int, segment_ids: list[int]) -> set[int]:
    return set(await conn.scalars(select(segment_memberships.c.customer_id).where(
        segment_memberships.c.workspace_id == workspace_id, segment_memberships.c.left_at.is_(None),
        segment_memberships.c.segment_id.in_(segment_ids))))


async def _biggest(conn, workspace_id: int, prefix: str, count: int) -> list[int]:
    found = []
    for key_id in await conn.execute(select(segments.c.id).where(
            segments.c.workspace_id == workspace_id, segments.c.key.startswith(prefix))):
        found.append((len(await _members(conn, workspace_id, [key_id.id])), key_id.id))
    return [i for _, i in sorted(found, reverse=True)[:count]]


async def _expected(conn, workspace_id: int, row, policies=DEFAULT_POLICIES, kinds=frozenset({OfferKind.PERCENT_OFF})):
    """(left out: {(reason, label): n}, kept ids, joined {label: n}) by a plain reading of the rows."""
    people = {r.id: r for r in await conn.execute(select(customers).where(
        customers.c.workspace_id == workspace_id, customers.c.deleted_at.is_(None), customers.c.erased_at.is_(None)))}
    scores = {r.customer_id: r for r in await conn.execute(select(customer_scores).where(
        customer_scores.c.workspace_id == workspace_id))}

    def matches(policy: Policy, pk: int) -> bool:
        s = scores.get(pk)
        traits = people[pk].staff_traits or (s.inferred_traits if s else None) or []
        return (policy.customer_type is not None and s is not None and s.customer_type == policy.customer_type.value) \
            or (policy.trait is not None and policy.trait.value in traits)

    excluding = [p for p in policies if p.excludes(kinds)]
    joining = [p for p in policies if p.joins(kinds) and not p.excludes(kinds)]
    inside = await _members(conn, workspace_id, list(row.include_segment_ids)) & people.keys()
    joined: dict[str, int] = {}
    candidates = set(inside)
    for pk in people:
        if pk not in inside:
            by = next((p for p in joining if matches(p, pk)), None)
            if by:
                joined[by.label] = joined.get(by.label, 0) + 1
                candidates.add(pk)
    excluded = await _members(conn, workspace_id, list(row.exclude_segment_ids))
    contacted: dict[int, int] = {}
    if row.frequency_cap:
        for (pk,) in await conn.execute(select(campaign_assignments.c.customer_id).where(
                campaign_assignments.c.workspace_id == workspace_id, campaign_assignments.c.arm == "treatment",
                campaign_assignments.c.campaign_id != row.id)):
            contacted[pk] = contacted.get(pk, 0) + 1
    left: dict[tuple[str, str | None], int] = {}
    kept = set()
    for pk in candidates:
        c = people[pk]
        policy = next((p for p in excluding if matches(p, pk)), None)
        reason = ("excluded_segment", None) if pk in excluded else \
            ("no_consent", None) if row.channel == "sms" and not c.consent_sms else \
            ("unreachable", None) if row.channel == "sms" and c.phone_e164 is None else \
            ("frequency_cap", None) if row.frequency_cap and contacted.get(pk, 0) >= row.frequency_cap else \
            ("policy", policy.label) if policy else None
        if reason:
            left[reason] = left.get(reason, 0) + 1
        else:
            kept.add(pk)
    return left, kept, joined


async def _assigned(conn, campaign_id: int) -> dict[int, object]:
    return {r.customer_id: r for r in await conn.execute(select(campaign_assignments).where(
        campaign_assignments.c.campaign_id == campaign_id))}


async def test_the_audience_follows_segments_consent_reach_frequency_cap_and_every_policy(engine, world):
    workspace_id, _ = world
    async with unit_of_work(engine, workspace_id) as conn:
        include = await _biggest(conn, workspace_id, "rfm:", 3)
        exclude = await _biggest(conn, workspace_id, "stage:", 1)
        first = await create_campaign(conn, workspace_id, CampaignInput(
            name="Earlier", channel=CampaignChannel.IN_APP, include_segment_ids=include[:1]), [PERCENT])
        await lifecycle.launch(conn, workspace_id, first.id, to_global_id)
        row = await create_campaign(conn, workspace_id, CampaignInput(
            name="Under test", channel=CampaignChannel.SMS, include_segment_ids=include, exclude_segment_ids=exclude,
            frequency_cap=1, frequency_cap_days=30), [PERCENT])
        left, kept, joined = await _expected(conn, workspace_id, row)
        launched = await lifecycle.launch(conn, workspace_id, row.id, to_global_id)
        assigned = await _assigned(conn, row.id)
        coded = set(await conn.scalars(select(offer_codes.c.customer_id).join(
            campaign_assignments, (campaign_assignments.c.customer_id == offer_codes.c.customer_id)
            & (campaign_assignments.c.campaign_id == row.id)).where(offer_codes.c.workspace_id == workspace_id)))
        targeted = list(await conn.scalars(select(events.c.customer_id).where(
            events.c.workspace_id == workspace_id, events.c.kind == "campaign.targeted",
            events.c.payload["campaignId"].astext == to_global_id("Campaign", row.id))))
    report = launched.audience_report
    # Every reason is at work on the demo store, and each count is the plain reading's.
    assert {reason for reason, _ in left} >= {"excluded_segment", "no_consent", "frequency_cap", "policy"}
    assert {(r, label): n for r, label, n in report["leftOut"]} == left
    assert report["joined"] == joined and joined.get("BARGAINER", 0) > 0
    assert set(assigned) == kept
    treated = {pk for pk, a in assigned.items() if a.arm == "treatment"}
    assert report["treatment"] == len(treated) and report["holdout"] == len(kept) - len(treated) > 0
    assert sorted(targeted) == sorted(treated) and coded == treated


async def test_a_policy_set_of_the_campaigns_own_replaces_the_workspaces(engine, world):
    workspace_id, _ = world
    own = [Policy(customer_type=CustomerType.STANDARD, exclude_offer_kinds=frozenset({OfferKind.PERCENT_OFF}))]
    async with unit_of_work(engine, workspace_id) as conn:
        include = await _biggest(conn, workspace_id, "rfm:", 2)
        row = await create_campaign(conn, workspace_id, CampaignInput(
            name="Own policies", channel=CampaignChannel.IN_APP, include_segment_ids=include, policies=own), [PERCENT])
        left, kept, joined = await _expected(conn, workspace_id, row, policies=own)
        launched = await lifecycle.launch(conn, workspace_id, row.id, to_global_id)
        assigned = await _assigned(conn, row.id)
    assert left == {("policy", "STANDARD"): left[("policy", "STANDARD")]} and joined == {}
    assert {(r, label): n for r, label, n in launched.audience_report["leftOut"]} == left
    assert set(assigned) == kept


async def test_the_holdout_is_the_hash_of_salt_and_id_and_holds_its_share(engine, world):
    workspace_id, _ = world
    # The share at 100,000 customers: within half a percentage point of 10%.
    salt = campaign_salt(424242)
    held = sum(bucket(salt, pk) < 1000 for pk in range(1, 100_001))
    assert abs(held / 100_000 - 0.10) < 0.005
    async with unit_of_work(engine, workspace_id) as conn:
        include = await _biggest(conn, workspace_id, "rfm:", 4)
        row = await create_campaign(conn, workspace_id, CampaignInput(
            name="Split", channel=CampaignChannel.IN_APP, include_segment_ids=include, holdout_bp=2500), [PERCENT])
        launched = await lifecycle.launch(conn, workspace_id, row.id, to_global_id)
        assigned = await _assigned(conn, row.id)
        again = await create_campaign(conn, workspace_id, CampaignInput(
            name="Split again", channel=CampaignChannel.IN_APP, include_segment_ids=include, holdout_bp=2500),
            [PERCENT])
    # Recomputed from the hash, every stored bucket and arm agrees (the SQL and Python sha256 are one function).
    assert launched.holdout_salt == campaign_salt(row.id) and len(assigned) > 100
    for pk, a in assigned.items():
        assert a.bucket == bucket(launched.holdout_salt, pk)
        assert a.arm == ("holdout" if a.bucket < 2500 else "treatment")
    # Another campaign's salt splits the same customers differently.
    assert any((bucket(campaign_salt(again.id), pk) < 2500) != (a.arm == "holdout") for pk, a in assigned.items())


async def test_a_global_control_group_holds_out_the_same_customers_in_every_campaign(engine, world):
    workspace_id, _ = world
    async with unit_of_work(engine, workspace_id) as conn:
        salt = await set_global_control_group(conn, workspace_id, True)
        include = await _biggest(conn, workspace_id, "rfm:", 4)
        arms = []
        for name in ("Global one", "Global two"):
            row = await create_campaign(conn, workspace_id, CampaignInput(
                name=name, channel=CampaignChannel.IN_APP, include_segment_ids=include), [PERCENT])
            launched = await lifecycle.launch(conn, workspace_id, row.id, to_global_id)
            assert launched.holdout_salt == salt
            arms.append({pk: a.arm for pk, a in (await _assigned(conn, row.id)).items()})
        await set_global_control_group(conn, workspace_id, False)
    common = arms[0].keys() & arms[1].keys()
    assert common and all(arms[0][pk] == arms[1][pk] for pk in common)


async def test_customers_entering_an_included_segment_join_the_running_campaign(engine, world):
    workspace_id, _ = world
    async with unit_of_work(engine, workspace_id) as conn:
        manual = await create_segment(conn, workspace_id, "Joiners", SegmentKind.MANUAL, None)
        ids = list(await conn.scalars(select(customers.c.id).where(customers.c.workspace_id == workspace_id)
                                      .order_by(customers.c.id).limit(30)))
        await change_manual_members(conn, workspace_id, manual.id, ids[:10], member=True)
        row = await create_campaign(conn, workspace_id, CampaignInput(
            name="Follows", channel=CampaignChannel.IN_APP, include_segment_ids=[manual.id], policies=[]),
            [OfferTerms(kind=OfferKind.NOTICE, title_en="News")])
        await lifecycle.launch(conn, workspace_id, row.id, to_global_id)
    async with unit_of_work(engine, workspace_id) as conn:
        await change_manual_members(conn, workspace_id, manual.id, ids[10:25], member=True)
    async with unit_of_work(engine, workspace_id) as conn:
        current = (await campaigns_by_id(conn, workspace_id, [row.id]))[row.id]
        assert await lifecycle.try_follow_lock(conn, row.id)
        report = await lifecycle.follow(conn, current, to_global_id)
        assigned = await _assigned(conn, row.id)
    assert report is not None and report.treatment + report.holdout == 15
    assert set(assigned) == set(ids[:25])
    assert {pk for pk, a in assigned.items() if a.joined} == set(ids[10:25])
    async with unit_of_work(engine, workspace_id) as conn:  # nothing new: nothing to do
        current = (await campaigns_by_id(conn, workspace_id, [row.id]))[row.id]
        assert await lifecycle.follow(conn, current, to_global_id) is None
