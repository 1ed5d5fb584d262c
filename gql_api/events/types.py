"""Event types: what subscriptions push and the change queries page through."""

from __future__ import annotations

import datetime
from enum import Enum

import strawberry
from strawberry.scalars import JSON

from domain.events import CUSTOMER_KINDS, Event, EventKind
from gql_api.ids import from_cursor, to_cursor, to_global_id
from gql_api.pagination import PageInfo

MembershipChange = strawberry.enum(Enum("MembershipChange", {"ENTERED": "segment.entered", "LEFT": "segment.left"}),
                                   description="A customer entered or left a segment.")
CustomerChange = strawberry.enum(
    Enum("CustomerChange", {k.value.replace(".", "_").upper().removeprefix("CUSTOMER_"): k.value
                            for k in EventKind if k in CUSTOMER_KINDS}),
    description="What happened to the customer.")


# The record ids events carry, and the type of each: given out as the API's global ids.
_PAYLOAD_IDS = {"purchaseId": "Purchase", "interactionId": "Interaction", "mergedInto": "Customer",
                "merged": "Customer"}


def public_payload(payload: dict) -> dict:
    """An event's details as clients get them: record ids as the opaque global
    ids every other answer gives (the outbox keeps the numbers)."""
    return {key: to_global_id(_PAYLOAD_IDS[key], value) if key in _PAYLOAD_IDS and isinstance(value, int) else value
            for key, value in payload.items()}


def event_cursor(seq: int) -> str:
    return to_cursor("event", seq)


def event_position(cursor: str) -> int:
    """The seq inside a cursor; ValueError or MalformedId if it is not one."""
    kind, seq = from_cursor(cursor, 2)
    if kind != "event" or int(seq) < 0:
        raise ValueError(cursor)
    return int(seq)


def _common(event: Event) -> dict:
    return {"cursor": event_cursor(event.seq), "event_id": f"{event.workspace_id}-{event.seq}",
            "customer_id": strawberry.ID(to_global_id("Customer", event.customer_id)),
            "occurred_at": event.occurred_at}


@strawberry.type(description="A customer entered or left a segment.")
class SegmentMembershipEvent:
    cursor: str = strawberry.field(description="Resume after this event: pass it as `after`.")
    event_id: str = strawberry.field(description="Unique per event; use it to drop a duplicate delivery.")
    change: MembershipChange
    segment_id: strawberry.ID
    customer_id: strawberry.ID
    reason: str = strawberry.field(description="What caused it: `purchase recorded`, `rescoring`, `rule edited`, ...")
    occurred_at: datetime.datetime

    @classmethod
    def from_event(cls, event: Event) -> SegmentMembershipEvent:
        return cls(**_common(event), change=MembershipChange(event.kind.value),
                   segment_id=strawberry.ID(to_global_id("Segment", event.segment_id)),
                   reason=event.payload.get("reason", ""))


@strawberry.type(description="A customer was created, changed, deleted, erased, or bought or was served.")
class CustomerEvent:
    cursor: str = strawberry.field(description="Resume after this event: pass it as `after`.")
    event_id: str = strawberry.field(description="Unique per event; use it to drop a duplicate delivery.")
    change: CustomerChange
    customer_id: strawberry.ID
    details: JSON = strawberry.field(description="E.g. `fields` changed, or `purchaseId` (a global id) and `total`.")
    occurred_at: datetime.datetime

    @classmethod
    def from_event(cls, event: Event) -> CustomerEvent:
        return cls(**_common(event), change=CustomerChange(event.kind.value),
                   details=public_payload(event.payload))


@strawberry.type(description="An offer's code for the targeted customer.")
class OfferCode:
    offer_id: strawberry.ID
    code: str


@strawberry.type(description="A campaign targeted a customer (treatment arm): the business's SMS, email or push "
                             "provider sends the message.")
class CampaignTargetedEvent:
    cursor: str = strawberry.field(description="Resume after this event: pass it as `after`.")
    event_id: str = strawberry.field(description="Unique per event; use it to drop a duplicate delivery.")
    campaign_id: strawberry.ID
    customer_id: strawberry.ID
    channel: str = strawberry.field(description="SMS, EMAIL, PUSH or IN_APP.")
    offer_ids: list[strawberry.ID]
    codes: list[OfferCode] = strawberry.field(description="Their codes (SHARED and UNIQUE offers).")
    opens_at: datetime.datetime | None = strawberry.field(description="Early access: their offers open then.")
    reason: str = strawberry.field(description="`campaign launched`, or `entered a segment` for a joiner.")
    occurred_at: datetime.datetime

    @classmethod
    def from_event(cls, event: Event) -> CampaignTargetedEvent:
        p = event.payload
        opens = p.get("opensAt")
        return cls(**_common(event), campaign_id=strawberry.ID(p["campaignId"]), channel=p["channel"].upper(),
                   offer_ids=[strawberry.ID(i) for i in p.get("offerIds", [])],
                   codes=[OfferCode(offer_id=strawberry.ID(k), code=v) for k, v in sorted(p.get("codes", {}).items())],
                   opens_at=datetime.datetime.fromisoformat(opens) if opens else None, reason=p.get("reason", ""))


@strawberry.type
class SegmentMembershipEventEdge:
    cursor: str
    node: SegmentMembershipEvent


@strawberry.type(description="Segment membership changes, oldest first.")
class SegmentMembershipEventConnection:
    edges: list[SegmentMembershipEventEdge]
    page_info: PageInfo


@strawberry.type
class CustomerEventEdge:
    cursor: str
    node: CustomerEvent


@strawberry.type(description="Customer changes, oldest first.")
class CustomerEventConnection:
    edges: list[CustomerEventEdge]
    page_info: PageInfo
