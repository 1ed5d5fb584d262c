"""Merging two records of the same customer.

The survivor keeps its id and its profile; fields it lacks are taken from the
merged record (lists and custom attributes are combined, the survivor's
values winning). Everything that happened to the merged record moves to the
survivor: notes, purchases, service history, campaign events, referrals it
made or received, and its place in manual segments. The merged record is then
deleted like customerDelete (hidden, leaves its segments), and the survivor is
rescored and its rule segments re-evaluated, all in the caller's transaction.
Consents stay the survivor's: a consent given on one record is not assumed
for the other.
"""

from __future__ import annotations

from sqlalchemy import Row, case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain import segment_membership
from domain.changes import customers_changed
from domain.customers import CONSENT_FIELDS, STORED_AS_IS, as_input, clean_profile
from domain.errors import DomainError, ErrorCode
from domain.events import EventKind
from domain.scoring_pipeline import rescore_customer
from domain.tables import (campaign_assignments, campaign_events, customer_scores, customers, interactions, notes,
                           offer_codes, purchases, redemptions, segments)
from domain.tables import segment_memberships as m
from domain.vocab import SegmentKind

_COMBINED = ("interests", "tags", "traits")  # lists: the survivor's, then the merged record's others


async def merge_customers(conn: AsyncConnection, workspace_id: int, survivor_id: int, merged_id: int,
                          region: str) -> Row:
    if survivor_id == merged_id:
        raise DomainError(ErrorCode.INVALID, "mergedId", "a customer cannot be merged into itself")
    survivor, merged = await _lock_both(conn, workspace_id, survivor_id, merged_id)
    kept = as_input(survivor)
    profile = _combined_profile(kept, as_input(merged))
    filled = sorted(k for k, v in profile.items() if v != kept[k] and k != "phone_e164")
    if profile["external_id"] != survivor.external_id:  # taken over: free it first (unique per workspace)
        await conn.execute(update(customers).where(customers.c.id == merged_id).values(external_id=None))
    await _move_history(conn, workspace_id, survivor_id, merged_id)
    manual = list(await conn.scalars(
        select(m.c.segment_id).join(segments, segments.c.id == m.c.segment_id)
        .where(m.c.workspace_id == workspace_id, m.c.customer_id == merged_id, m.c.left_at.is_(None),
               segments.c.kind == SegmentKind.MANUAL.value)))
    for segment_id in manual:
        await segment_membership.set_manual(conn, workspace_id, segment_id, [survivor_id], True, "customer merged")
    await conn.execute(update(customers).where(customers.c.id == merged_id)
                       .values(deleted_at=func.now(), updated_at=func.now()))
    await conn.execute(delete(customer_scores).where(customer_scores.c.workspace_id == workspace_id,
                                                     customer_scores.c.customer_id == merged_id))
    await customers_changed(conn, workspace_id, EventKind.CUSTOMER_MERGED, [merged_id], [{"mergedInto": survivor_id}])
    row = (await conn.execute(update(customers).where(customers.c.id == survivor_id)
                              .values(**clean_profile(profile, region, STORED_AS_IS), updated_at=func.now())
                              .returning(customers))).one()
    await rescore_customer(conn, workspace_id, survivor_id)
    await customers_changed(conn, workspace_id, EventKind.CUSTOMER_UPDATED, [survivor_id],
                            [{"fields": filled, "merged": merged_id}])
    return row


async def _lock_both(conn: AsyncConnection, workspace_id: int, survivor_id: int, merged_id: int) -> tuple[Row, Row]:
    """Both live records, locked in id order (two merges of the same pair wait, not deadlock)."""
    rows = {r.id: r for r in await conn.execute(
        select(customers).where(customers.c.workspace_id == workspace_id, customers.c.id.in_([survivor_id, merged_id]),
                                customers.c.deleted_at.is_(None)).order_by(customers.c.id).with_for_update())}
    for field, pk in (("survivorId", survivor_id), ("mergedId", merged_id)):
        if pk not in rows:
            raise DomainError(ErrorCode.NOT_FOUND, field, "no such customer in this workspace")
    return rows[survivor_id], rows[merged_id]


def _combined_profile(survivor: dict, merged: dict) -> dict:
    combined = dict(survivor)
    for field, value in survivor.items():
        if field in _COMBINED:
            combined[field] = [*value, *(v for v in merged[field] if v not in value)]
        elif field == "attributes":
            combined[field] = {**merged[field], **value}
        elif field not in CONSENT_FIELDS and value in (None, ""):
            combined[field] = merged[field]
    return combined


async def _move_history(conn: AsyncConnection, workspace_id: int, survivor_id: int, merged_id: int) -> None:
    for table in (notes, purchases, interactions, campaign_events, redemptions):
        await conn.execute(update(table).where(table.c.workspace_id == workspace_id, table.c.customer_id == merged_id)
                           .values(customer_id=survivor_id))
    # The survivor keeps its own campaign arms; the duplicate's assignments and codes go with it.
    for table in (campaign_assignments, offer_codes):
        await conn.execute(delete(table).where(table.c.workspace_id == workspace_id, table.c.customer_id == merged_id))
    # A referral between the two records was the customer referring themselves: not a referral.
    await conn.execute(
        update(interactions).where(interactions.c.workspace_id == workspace_id,
                                   interactions.c.referred_customer_id.in_([survivor_id, merged_id]))
        .values(referred_customer_id=case((interactions.c.customer_id == survivor_id, None), else_=survivor_id)))
