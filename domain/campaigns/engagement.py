"""Engagement with campaigns, as apps (VIEWED, CLICKED) and delivery providers
(SENT, DELIVERED, OPENED, UNSUBSCRIBED) report it, in bulk.

Each event carries the reporter's own id: a repeat of an id already recorded
is dropped, so a provider may resend a batch safely. A batch is all or
nothing: one bad event refuses it, pointing at the event. Segment rules'
`campaign` conditions read these events, so the engaged customers' segments
are brought up to date in the same transaction. REDEEMED is Tribe's own:
written when a redemption is confirmed (domain/campaigns/redemptions.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from domain import segment_membership
from domain.campaigns.offers import offers_by_id
from domain.errors import DomainError, ErrorCode
from domain.segment_rules import uses_campaign_events
from domain.tables import campaign_assignments, campaign_events, campaigns
from domain.vocab import Arm, CampaignEventKind

MAX_EVENTS = 1000
MAX_EVENT_ID = 200
CLOCK_SKEW = timedelta(minutes=5)
REPORTED = frozenset(CampaignEventKind) - {CampaignEventKind.REDEEMED}
APP_KINDS = frozenset({CampaignEventKind.VIEWED, CampaignEventKind.CLICKED})


@dataclass(frozen=True)
class Engagement:
    event_id: str
    kind: CampaignEventKind
    customer_id: int
    campaign_id: int | None = None
    offer_id: int | None = None
    occurred_at: datetime | None = None


async def record(conn: AsyncConnection, workspace_id: int, reported: list[Engagement],
                 kinds: frozenset[CampaignEventKind] = REPORTED) -> tuple[int, int]:
    """(recorded, dropped as repeats)."""
    if not 0 < len(reported) <= MAX_EVENTS:
        raise DomainError(ErrorCode.INVALID, "events", f"1 to {MAX_EVENTS} events at a time")
    now = datetime.now(UTC)
    found_offers = await offers_by_id(conn, workspace_id, sorted({e.offer_id for e in reported if e.offer_id}))
    rows = []
    for i, event in enumerate(reported):
        path = f"events.{i}"
        if not 0 < len(event.event_id) <= MAX_EVENT_ID:
            raise DomainError(ErrorCode.INVALID, f"{path}.eventId", f"1 to {MAX_EVENT_ID} characters")
        if event.kind not in kinds:
            raise DomainError(ErrorCode.INVALID, f"{path}.kind", f"one of {', '.join(sorted(k.name for k in kinds))}")
        campaign_id = event.campaign_id
        if event.offer_id is not None:
            offer = found_offers.get(event.offer_id)
            if offer is None:
                raise DomainError(ErrorCode.NOT_FOUND, f"{path}.offerId", "no such offer in this workspace")
            if campaign_id not in (None, offer.campaign_id):
                raise DomainError(ErrorCode.CONFLICT, f"{path}.offerId", "the offer is another campaign's")
            campaign_id = offer.campaign_id
        if campaign_id is None:
            raise DomainError(ErrorCode.REQUIRED, f"{path}.campaignId", "give the campaign or the offer")
        moment = event.occurred_at or now
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        if moment > now + CLOCK_SKEW:
            raise DomainError(ErrorCode.INVALID_DATE, f"{path}.occurredAt", "cannot be in the future")
        rows.append({"workspace_id": workspace_id, "campaign_id": campaign_id, "offer_id": event.offer_id,
                     "customer_id": event.customer_id, "kind": event.kind.value, "event_id": event.event_id,
                     "occurred_at": moment})
    await _require_treated(conn, workspace_id, rows)
    inserted = list(await conn.scalars(insert(campaign_events).values(rows)
                                       .on_conflict_do_nothing(index_elements=["workspace_id", "event_id"])
                                       .returning(campaign_events.c.customer_id)))
    if inserted:
        found = [s for s in await segment_membership.rule_segments(conn, workspace_id) if uses_campaign_events(s.rule)]
        if found:
            await segment_membership.sync(conn, workspace_id, "campaign engagement", sorted(set(inserted)),
                                          found=found)
    return len(inserted), len(rows) - len(inserted)


async def _require_treated(conn: AsyncConnection, workspace_id: int, rows: list[dict]) -> None:
    """Engagement comes only from customers a campaign of this workspace treated."""
    pairs = sorted({(r["campaign_id"], r["customer_id"]) for r in rows})
    a = campaign_assignments.c
    treated = {tuple(r) for r in await conn.execute(
        select(a.campaign_id, a.customer_id)
        .join(campaigns, (campaigns.c.id == a.campaign_id) & (campaigns.c.workspace_id == workspace_id))
        .where(a.workspace_id == workspace_id, a.arm == Arm.TREATMENT.value,
               tuple_(a.campaign_id, a.customer_id).in_(pairs)))}
    for i, row in enumerate(rows):
        if (row["campaign_id"], row["customer_id"]) not in treated:
            raise DomainError(ErrorCode.NOT_ELIGIBLE, f"events.{i}.customerId",
                              "the campaign did not target this customer")
